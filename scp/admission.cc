#include "scp/admission.h"

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::scp {

ArchiveAeTitles ArchiveAeTitlesOf(const archive::ArchiveConfig& config) {
  ArchiveAeTitles titles;
  titles.shared = config.ae_title;
  for (const auto& facility : config.facilities) {
    for (const auto& title : facility.archive_ae_titles) {
      titles.own[title] = facility.name;
      titles.facilities_with_own.insert(facility.name);
    }
  }
  return titles;
}

CallerChoice ChooseCaller(const std::vector<archive::Caller>& candidates,
                          const std::optional<std::string>& own_facility,
                          const std::set<std::string>& facilities_with_own,
                          const std::string& calling_ae, const std::string& peer_address) {
  CallerChoice choice;
  std::vector<const archive::Caller*> served, allowed;
  for (const auto& candidate : candidates) {
    const bool serves = own_facility ? candidate.facility_name == *own_facility
                                     : facilities_with_own.count(candidate.facility_name) == 0;
    if (!serves) continue;
    served.push_back(&candidate);
    if (candidate.peer_allowed) allowed.push_back(&candidate);
  }
  if (served.empty()) {
    choice.verdict = AdmissionVerdict::kCallingAeNotRecognized;
    choice.reason = fmt::format("calling AE title '{}' is not known{}", calling_ae,
                                own_facility ? " to facility " + *own_facility : "");
  } else if (allowed.empty()) {
    choice.verdict = AdmissionVerdict::kPeerNotAllowed;
    choice.reason = fmt::format("calling AE title '{}' may not connect from {}", calling_ae,
                                peer_address);
  } else if (allowed.size() > 1) {
    choice.verdict = AdmissionVerdict::kCallerAmbiguous;
    choice.reason = fmt::format("calling AE title '{}' from {} names both facility {} and "
                                "facility {}",
                                calling_ae, peer_address, allowed[0]->facility_name,
                                allowed[1]->facility_name);
  } else {
    choice.verdict = AdmissionVerdict::kAccept;
    choice.caller = *allowed.front();
  }
  return choice;
}

namespace {

// The facility whose own archive AE title `called_ae` is, if any.
std::optional<std::string> OwnFacilityOf(const ArchiveAeTitles& titles,
                                         const std::string& called_ae) {
  const auto own = titles.own.find(called_ae);
  if (own == titles.own.end()) return std::nullopt;
  return own->second;
}

}  // namespace

Admission DecideAdmission(archive::InstanceIndex& index, billing::PurposeDirectory* purposes,
                          const ArchiveAeTitles& titles, const std::string& called_ae,
                          const std::string& calling_ae, const std::string& peer_address) {
  Admission admission;
  try {
    if (purposes != nullptr) admission.purpose = purposes->ForCalledAe(called_ae);
    const std::optional<std::string> own_facility = OwnFacilityOf(titles, called_ae);
    const bool archive_title = called_ae == titles.shared || own_facility;
    if (!archive_title && !admission.purpose) {
      admission.verdict = AdmissionVerdict::kCalledAeNotRecognized;
      admission.reason = fmt::format(
          "called AE title '{}' is not ours ('{}'), a facility's archive AE title nor a "
          "purpose's",
          called_ae, titles.shared);
      return admission;
    }
    const CallerChoice choice =
        ChooseCaller(index.FindCallers(calling_ae, peer_address), own_facility,
                     titles.facilities_with_own, calling_ae, peer_address);
    if (choice.verdict != AdmissionVerdict::kAccept) {
      admission.verdict = choice.verdict;
      admission.reason = choice.reason;
      return admission;
    }
    admission.facility_id = choice.caller->facility_id;
    admission.facility_name = choice.caller->facility_name;
    admission.may_store = choice.caller->may_store;
    if (admission.purpose && !purposes->IsGranted(admission.purpose->id, admission.facility_id,
                                                  calling_ae)) {
      if (!archive_title) {
        admission.verdict = AdmissionVerdict::kPurposeNotGranted;
        admission.reason =
            fmt::format("calling AE title '{}' of facility {} is not granted purpose '{}'",
                        calling_ae, admission.facility_name, admission.purpose->name);
        return admission;
      }
      // An archive AE title: storing stays open, retrieving under the
      // purpose bound to it does not.
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
