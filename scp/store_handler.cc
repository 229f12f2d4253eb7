#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/store_handler.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/dicom_header.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "scp/archive_scp.h"
#include "scp/status_mapping.h"

namespace hokan::scp {

OFCondition StoreHandler::Handle(T_DIMSE_C_StoreRQ& request,
                                 T_ASC_PresentationContextID context_id) {
  archive::IngestService& ingest = scp_.services_.ingest;
  const std::filesystem::path incoming = scp_.services_.files.NewIncomingPath();
  const auto expectation = ingest.ExpectStore();
  // The core says whether the caller may store this and how many bytes it
  // may send; a refused caller keeps no byte.
  const archive::StoreAdmission admission =
      ingest.AdmitStore(StoreRightsOf(scp_.caller_), request.AffectedSOPClassUID);
  scp_.receive_bound_ = {incoming.string(), admission.max_object_bytes, false};
  const OFCondition received = scp_.receiveSTORERequest(request, context_id, incoming.c_str());
  const bool exceeded = scp_.receive_bound_.exceeded;
  scp_.receive_bound_ = {};
  if (received.bad()) {
    // The data set did not arrive whole: the association is broken.
    DiscardIncoming(incoming);
    Log(LogLevel::kWarn, "association from {}: C-STORE of {} not received: {}",
        scp_.caller_.calling_ae, request.AffectedSOPInstanceUID, received.text());
    ++scp_.counts_.failed;
    return received;
  }
  if (exceeded || admission.refusal.status != archive::IngestStatus::kStored) {
    DiscardIncoming(incoming);
    return Answer(context_id, request, ingest.RefuseOversizedObject(admission));
  }
  return Answer(context_id, request, Ingest(request, incoming, expectation.get()));
}

archive::IngestResult StoreHandler::Ingest(const T_DIMSE_C_StoreRQ& request,
                                           const std::filesystem::path& incoming,
                                           archive::IngestService::StoreExpectation* expectation) {
  const CallerScope& caller = scp_.caller_;
  const dicom::HeaderReadResult header = dicom::ReadInstanceHeader(incoming);
  if (!header.ok) {
    DiscardIncoming(incoming);
    return {archive::IngestStatus::kInvalidDataSet, header.error, 0};
  }
  if (!header.character_set_warning.empty()) {
    Log(LogLevel::kWarn, "instance {}: {}", request.AffectedSOPInstanceUID,
        header.character_set_warning);
  }
  archive::IngestService& ingest = scp_.services_.ingest;
  if (!scp_.storage_gate_) {
    try {
      scp_.storage_gate_ = ingest.OpenGate(caller.facility_id);
    } catch (const Error& error) {
      Log(LogLevel::kError, "C-STORE from {}: {}", caller.calling_ae, error.what());
      DiscardIncoming(incoming);
      return {archive::IngestStatus::kOutOfResources,
              "the storage conditions cannot be read; retry later", 0};
    }
  }
  archive::StoreRequest store;
  store.gate = scp_.storage_gate_.get();
  store.facility_id = caller.facility_id;
  store.calling_ae = caller.calling_ae;
  store.requested_sop_class_uid = request.AffectedSOPClassUID;
  store.requested_sop_instance_uid = request.AffectedSOPInstanceUID;
  store.incoming_file = incoming;
  store.attributes = header.attributes;
  return ingest.Ingest(store, expectation);
}

OFCondition StoreHandler::Answer(T_ASC_PresentationContextID context_id,
                                 const T_DIMSE_C_StoreRQ& request,
                                 const archive::IngestResult& result) {
  const std::string& calling_ae = scp_.caller_.calling_ae;
  const std::uint16_t status = StoreStatusFor(result);
  switch (result.status) {
    case archive::IngestStatus::kStored:
      ++scp_.counts_.stored;
      Log(LogLevel::kDebug, "stored {} from {}", request.AffectedSOPInstanceUID, calling_ae);
      break;
    case archive::IngestStatus::kAlreadyStored:
      ++scp_.counts_.already_stored;
      Log(LogLevel::kDebug, "{} from {} was already stored with identical content",
          request.AffectedSOPInstanceUID, calling_ae);
      break;
    default:
      ++scp_.counts_.failed;
      // Trouble on our side is an error; the caller's data or rights a warning.
      Log(result.status == archive::IngestStatus::kOutOfResources ? LogLevel::kError
                                                                  : LogLevel::kWarn,
          "C-STORE from {} refused with 0x{:04X}: {}", calling_ae, status, result.message);
      break;
  }
  if (status == dicom::status::kSuccess || result.message.empty()) {
    return scp_.sendSTOREResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                                  request.AffectedSOPInstanceUID, status, nullptr);
  }
  const auto detail = dicom::ErrorDetail(result.message);
  return scp_.sendSTOREResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                                request.AffectedSOPInstanceUID, status, detail.get());
}

void StoreHandler::DiscardIncoming(const std::filesystem::path& incoming) {
  try {
    scp_.services_.files.RemoveIncoming(incoming);
  } catch (const Error& error) {
    Log(LogLevel::kError, "{}", error.what());
  }
}

}  // namespace hokan::scp
