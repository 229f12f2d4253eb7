#include "scp/admission.h"

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::scp {

Admission DecideAdmission(archive::InstanceIndex& index, billing::PurposeDirectory* purposes,
                          const std::string& our_ae_title, const std::string& called_ae,
                          const std::string& calling_ae, const std::string& peer_address) {
  Admission admission;
  try {
    if (purposes != nullptr) admission.purpose = purposes->ForCalledAe(called_ae);
    if (called_ae != our_ae_title && !admission.purpose) {
      admission.verdict = AdmissionVerdict::kCalledAeNotRecognized;
      admission.reason = fmt::format("called AE title '{}' is not ours ('{}') nor a purpose's",
                                     called_ae, our_ae_title);
      return admission;
    }
    const auto caller = index.FindCaller(calling_ae, peer_address);
    if (!caller) {
      admission.verdict = AdmissionVerdict::kCallingAeNotRecognized;
      admission.reason = fmt::format("calling AE title '{}' is not known", calling_ae);
      return admission;
    }
    admission.facility_id = caller->facility_id;
    admission.facility_name = caller->facility_name;
    admission.may_store = caller->may_store;
    if (!caller->peer_allowed) {
      admission.verdict = AdmissionVerdict::kPeerNotAllowed;
      admission.reason = fmt::format("calling AE title '{}' may not connect from {}",
                                     calling_ae, peer_address);
      return admission;
    }
    if (admission.purpose && !purposes->IsGranted(admission.purpose->id, calling_ae)) {
      if (called_ae != our_ae_title) {
        admission.verdict = AdmissionVerdict::kPurposeNotGranted;
        admission.reason = fmt::format("calling AE title '{}' is not granted purpose '{}'",
                                       calling_ae, admission.purpose->name);
        return admission;
      }
      // The main AE title: storing stays open, retrieving under the purpose
      // bound to it does not.
      admission.may_retrieve = false;
      admission.reason = fmt::format("not granted purpose '{}'", admission.purpose->name);
    }
    admission.verdict = AdmissionVerdict::kAccept;
    return admission;
  } catch (const Error& error) {
    admission.verdict = AdmissionVerdict::kTemporarilyUnavailable;
    admission.reason = error.what();
    return admission;
  }
}

}  // namespace hokan::scp
