#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/commitment_handler.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <fmt/format.h>

#include <memory>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "dicom/storage_commitment.h"
#include "scp/archive_scp.h"

namespace hokan::scp {
namespace {

// The limit an N-ACTION data set exceeds ([archive] max_commitment_items,
// max_commitment_bytes), as an Error Comment under 64 characters; empty
// when within them. Checked before the data set is parsed.
std::string OverCommitmentLimits(DcmDataset& information,
                                 const archive::ResourceLimits& limits) {
  DcmSequenceOfItems* items = nullptr;
  if (information.findAndGetSequence(DCM_ReferencedSOPSequence, items).good() &&
      items != nullptr && items->card() > static_cast<unsigned long>(limits.max_commitment_items)) {
    return fmt::format("over {} items (archive.max_commitment_items)", limits.max_commitment_items);
  }
  const auto bytes = static_cast<std::int64_t>(information.getLength(EXS_LittleEndianExplicit));
  if (bytes > limits.max_commitment_bytes) {
    return fmt::format("over {} bytes (archive.max_commitment_bytes)",
                       limits.max_commitment_bytes);
  }
  return {};
}

}  // namespace

OFCondition CommitmentHandler::Handle(T_DIMSE_N_ActionRQ& request,
                                      T_ASC_PresentationContextID context_id) {
  DcmDataset* received = nullptr;
  Uint16 action_type = 0;
  const OFCondition cond = scp_.receiveACTIONRequest(request, context_id, received, action_type);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> information(received);
  const Refusal refusal = Check(request, action_type);
  if (refusal.status != 0) return Respond(context_id, request, refusal.status, refusal.comment);
  const std::string over = OverCommitmentLimits(*information, scp_.services_.config.limits);
  if (!over.empty()) {
    Log(LogLevel::kWarn, "storage commitment from {} refused: {}", scp_.caller_.calling_ae, over);
    return Respond(context_id, request, dicom::status::kResourceLimitation, over);
  }

  dicom::CommitmentRequestParse parse = dicom::ParseCommitmentRequest(*information);
  if (!parse.ok) return Respond(context_id, request, parse.status, parse.error);
  const CallerScope& caller = scp_.caller_;
  parse.request.facility_id = caller.facility_id;
  parse.request.requester_ae = caller.calling_ae;
  archive::CommitmentAcceptance acceptance;
  try {
    acceptance = scp_.services_.commitment->Accept(parse.request);
  } catch (const Error& error) {
    Log(LogLevel::kError, "storage commitment from {}: {}", caller.calling_ae, error.what());
    return Respond(context_id, request, dicom::status::kResourceLimitation,
                   "the index is unavailable; retry later");
  }
  if (!acceptance.accepted) {
    return Respond(context_id, request, dicom::status::kProcessingFailure,
                   acceptance.refused ? acceptance.refused->reason : "not accepted");
  }
  const archive::AddedCommitmentRequest added = *acceptance.accepted;
  const std::string& transaction_uid = parse.request.transaction_uid;
  Log(LogLevel::kInfo,
      "storage commitment from {}, transaction {}: request {} accepted for {} instance(s)",
      caller.calling_ae, transaction_uid, added.request_id, parse.request.items.size());

  // From here on the report is owed: any failure hands it to the job.
  const OFCondition answered = Respond(context_id, request, dicom::status::kSuccess, "");
  if (answered.bad()) {
    HandOver(added, transaction_uid, fmt::format("N-ACTION response not sent: {}", answered.text()));
    return answered;
  }
  return Report(context_id, added, transaction_uid);
}

CommitmentHandler::Refusal CommitmentHandler::Check(const T_DIMSE_N_ActionRQ& request,
                                                    Uint16 action_type) const {
  if (std::string(request.RequestedSOPClassUID) != UID_StorageCommitmentPushModelSOPClass) {
    return {dicom::status::kNoSuchSopClass, "N-ACTION is only supported for Storage Commitment"};
  }
  if (scp_.services_.commitment == nullptr) {
    return {dicom::status::kProcessingFailure, "storage commitment is not available"};
  }
  if (std::string(request.RequestedSOPInstanceUID) != UID_StorageCommitmentPushModelSOPInstance) {
    return {dicom::status::kInvalidObjectInstance,
            "Requested SOP Instance UID must be 1.2.840.10008.1.20.1.1"};
  }
  if (action_type != 1) {
    return {dicom::status::kNoSuchActionType,
            fmt::format("Action Type ID {} is not 1 (Request Commitment)", action_type)};
  }
  if (!scp_.caller_.may_store) {
    return {dicom::status::kRefusedNotAuthorized,
            "this AE title may query and retrieve, not store"};
  }
  return {};
}

OFCondition CommitmentHandler::Report(T_ASC_PresentationContextID context_id,
                                      const archive::AddedCommitmentRequest& added,
                                      const std::string& transaction_uid) {
  archive::CommitmentService& service = *scp_.services_.commitment;
  archive::CommitmentReport report;
  try {
    report = service.Check(added.request_id);
  } catch (const Error& error) {
    HandOver(added, transaction_uid, error.what());
    return EC_Normal;
  }
  dicom::CommitmentEventReport event =
      dicom::BuildEventReport(report, scp_.services_.config.ae_title);
  Uint16 status = 0;
  const OFCondition sent = scp_.sendEVENTREPORTRequest(
      context_id, UID_StorageCommitmentPushModelSOPInstance, scp_.next_event_message_id_++,
      event.event_type_id, event.event_information.get(), status);
  if (sent.bad() || status != 0) {
    HandOver(added, transaction_uid,
             sent.bad() ? std::string(sent.text())
                        : fmt::format("N-EVENT-REPORT answered with status 0x{:04X}", status));
    // A peer's release or abort ends the association as usual.
    return sent;
  }
  try {
    service.RecordSameAssociation(report, added.job_id);
  } catch (const Error& error) {
    // Delivered but not recorded: the job will send the report once more.
    Log(LogLevel::kError, "storage commitment transaction {}: report delivered but not "
        "recorded: {}", report.transaction_uid, error.what());
  }
  dicom::LogCommitmentReport(report, "reported on the same association");
  return EC_Normal;
}

void CommitmentHandler::HandOver(const archive::AddedCommitmentRequest& added,
                                 const std::string& transaction_uid, const std::string& why) {
  Log(LogLevel::kInfo,
      "storage commitment from {}, transaction {}: not reported on the same association "
      "({}); the report goes on a new association",
      scp_.caller_.calling_ae, transaction_uid, why);
  try {
    scp_.services_.commitment->HandOver(added.job_id);
  } catch (const Error& error) {
    // The job still runs once the same-association window has passed.
    Log(LogLevel::kError, "storage commitment transaction {}: {}", transaction_uid,
        error.what());
  }
}

OFCondition CommitmentHandler::Respond(T_ASC_PresentationContextID context_id,
                                       const T_DIMSE_N_ActionRQ& request, std::uint16_t status,
                                       const std::string& error_comment) {
  T_DIMSE_Message response = dicom::ActionResponse(request, status);
  if (status != dicom::status::kSuccess) {
    Log(LogLevel::kWarn, "storage commitment N-ACTION from {} refused with 0x{:04X}: {}",
        scp_.caller_.calling_ae, status, error_comment);
  }
  const auto detail = error_comment.empty() ? nullptr : dicom::ErrorDetail(error_comment);
  return scp_.sendDIMSEMessage(context_id, &response, nullptr, detail.get());
}

}  // namespace hokan::scp
