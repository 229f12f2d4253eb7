// ArchiveScp's Storage Commitment Push Model handler (PS3.4 Annex J).
#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/archive_scp.h"

#include "dcmtk/dcmdata/dcuid.h"

#include <fmt/format.h>

#include <memory>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/storage_commitment.h"
#include "dicom/dimse_status.h"

namespace hokan::scp {
namespace {


}  // namespace

OFCondition ArchiveScp::RespondAction(T_ASC_PresentationContextID context_id,
                                      const T_DIMSE_N_ActionRQ& request, std::uint16_t status,
                                      const std::string& error_comment) {
  T_DIMSE_Message response = dicom::ActionResponse(request, status);
  if (status != dicom::status::kSuccess) {
    Log(LogLevel::kWarn, "storage commitment N-ACTION from {} refused with 0x{:04X}: {}",
        calling_ae_, status, error_comment);
  }
  const auto detail = error_comment.empty() ? nullptr : dicom::ErrorDetail(error_comment);
  return sendDIMSEMessage(context_id, &response, nullptr, detail.get());
}

OFCondition ArchiveScp::HandleAction(T_DIMSE_N_ActionRQ& request,
                                     T_ASC_PresentationContextID context_id) {
  DcmDataset* received = nullptr;
  Uint16 action_type = 0;
  const OFCondition cond = receiveACTIONRequest(request, context_id, received, action_type);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> information(received);

  archive::CommitmentService* service = services_.commitment;
  if (std::string(request.RequestedSOPClassUID) != UID_StorageCommitmentPushModelSOPClass) {
    return RespondAction(context_id, request, dicom::status::kNoSuchSopClass,
                         "N-ACTION is only supported for Storage Commitment");
  }
  if (service == nullptr) {
    return RespondAction(context_id, request, dicom::status::kProcessingFailure,
                         "storage commitment is not available");
  }
  if (std::string(request.RequestedSOPInstanceUID) !=
      UID_StorageCommitmentPushModelSOPInstance) {
    return RespondAction(context_id, request, dicom::status::kInvalidObjectInstance,
                         "Requested SOP Instance UID must be 1.2.840.10008.1.20.1.1");
  }
  if (action_type != 1) {
    return RespondAction(context_id, request, dicom::status::kNoSuchActionType,
                         fmt::format("Action Type ID {} is not 1 (Request Commitment)",
                                     action_type));
  }
  if (!may_store_) {
    return RespondAction(context_id, request, dicom::status::kRefusedNotAuthorized,
                         "this AE title may query and retrieve, not store");
  }
  dicom::CommitmentRequestParse parse = dicom::ParseCommitmentRequest(*information);
  if (!parse.ok) return RespondAction(context_id, request, parse.status, parse.error);
  parse.request.facility_id = facility_id_;
  parse.request.requester_ae = calling_ae_;

  archive::CommitmentAcceptance acceptance;
  try {
    acceptance = service->Accept(parse.request);
  } catch (const Error& error) {
    Log(LogLevel::kError, "storage commitment from {}: {}", calling_ae_, error.what());
    return RespondAction(context_id, request, dicom::status::kResourceLimitation,
                         "the index is unavailable; retry later");
  }
  if (!acceptance.accepted) {
    return RespondAction(context_id, request, dicom::status::kProcessingFailure,
                         acceptance.refused ? acceptance.refused->reason : "not accepted");
  }
  const archive::AddedCommitmentRequest added = *acceptance.accepted;
  Log(LogLevel::kInfo,
      "storage commitment from {}, transaction {}: request {} accepted for {} instance(s)",
      calling_ae_, parse.request.transaction_uid, added.request_id, parse.request.items.size());

  // From here on the report is owed: any failure hands it to the job.
  auto hand_over = [&](const std::string& why) {
    Log(LogLevel::kInfo,
        "storage commitment from {}, transaction {}: not reported on the same association "
        "({}); the report goes on a new association",
        calling_ae_, parse.request.transaction_uid, why);
    try {
      service->HandOver(added.job_id);
    } catch (const Error& error) {
      // The job still runs once the same-association window has passed.
      Log(LogLevel::kError, "storage commitment transaction {}: {}",
          parse.request.transaction_uid, error.what());
    }
  };
  const OFCondition answered = RespondAction(context_id, request, dicom::status::kSuccess, "");
  if (answered.bad()) {
    hand_over(fmt::format("N-ACTION response not sent: {}", answered.text()));
    return answered;
  }

  archive::CommitmentReport report;
  try {
    report = service->Check(added.request_id);
  } catch (const Error& error) {
    hand_over(error.what());
    return EC_Normal;
  }
  dicom::CommitmentEventReport event = dicom::BuildEventReport(report, services_.config.ae_title);
  Uint16 status = 0;
  const OFCondition sent = sendEVENTREPORTRequest(
      context_id, UID_StorageCommitmentPushModelSOPInstance, next_event_message_id_++,
      event.event_type_id, event.event_information.get(), status);
  if (sent.bad() || status != 0) {
    hand_over(sent.bad() ? std::string(sent.text())
                         : fmt::format("N-EVENT-REPORT answered with status 0x{:04X}", status));
    // A peer's release or abort ends the association as usual.
    return sent;
  }
  try {
    service->RecordSameAssociation(report, added.job_id);
  } catch (const Error& error) {
    // Delivered but not recorded: the job will send the report once more.
    Log(LogLevel::kError, "storage commitment transaction {}: report delivered but not "
        "recorded: {}", report.transaction_uid, error.what());
  }
  dicom::LogCommitmentReport(report, "reported on the same association");
  return EC_Normal;
}

}  // namespace hokan::scp
