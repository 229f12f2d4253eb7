#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/find_handler.h"

#include <memory>

#include "archive/common/log.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "scp/archive_scp.h"
#include "scp/find_identifier.h"

namespace hokan::scp {

OFCondition FindHandler::Handle(T_DIMSE_C_FindRQ& request,
                                T_ASC_PresentationContextID context_id) {
  DcmDataset* received = nullptr;
  const OFCondition cond = scp_.receiveFINDRequest(request, context_id, received);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> identifier(received);
  ++scp_.counts_.queries;
  started_ = std::chrono::steady_clock::now();
  const CallerScope& caller = scp_.caller_;

  if (!caller.may_retrieve) {
    return Finish(context_id, request, dicom::status::kRefusedNotAuthorized,
                  NotGrantedComment(caller), 0, "?");
  }
  const auto model = InformationModelOf(request.AffectedSOPClassUID);
  if (!model) {
    return Finish(context_id, request, dicom::status::kSopClassNotSupported,
                  "SOP class not supported", 0, "?");
  }
  const FindIdentifierResult parsed =
      ParseFindIdentifier(*identifier, *model, {caller.facility_id});
  if (!parsed.ok) {
    return Finish(context_id, request, dicom::status::kDoesNotMatchSopClass, parsed.error, 0,
                  "?");
  }
  const char* level = LevelName(parsed.identifier.request.level);

  OFCondition sent = EC_Normal;
  bool cancelled = false;
  const archive::QueryOutcome outcome = scp_.services_.query.Find(
      QueryScopeOf(caller), parsed.identifier.request, [&](const archive::FindMatch& match) {
        if (scp_.checkForCANCEL(context_id, request.MessageID) == EC_Normal) {
          cancelled = true;
          return false;
        }
        const auto response = BuildFindResponse(parsed.identifier, match);
        sent = scp_.sendFINDResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                                     response.get(), dicom::status::kPending, nullptr);
        return sent.good();
      });
  if (sent.bad()) return sent;
  switch (outcome.status) {
    case archive::QueryStatus::kInvalidQuery:
      return Finish(context_id, request, dicom::status::kDoesNotMatchSopClass, outcome.message,
                    0, level);
    case archive::QueryStatus::kUnavailable:
      return Finish(context_id, request, dicom::status::kOutOfResources, outcome.message, 0,
                    level);
    case archive::QueryStatus::kStopped:
    case archive::QueryStatus::kCompleted:
      break;
  }
  if (cancelled) {
    return Finish(context_id, request, dicom::status::kCancel,
                  "cancelled after " + std::to_string(outcome.matches) + " match(es)",
                  outcome.matches, level);
  }
  return Finish(context_id, request, dicom::status::kSuccess, {}, outcome.matches, level);
}

OFCondition FindHandler::Finish(T_ASC_PresentationContextID context_id,
                                const T_DIMSE_C_FindRQ& request, std::uint16_t status,
                                const std::string& comment, std::size_t matches,
                                const char* level) {
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started_).count();
  Log(status == dicom::status::kSuccess ? LogLevel::kInfo : LogLevel::kWarn,
      "C-FIND from {} at {} level: {} match(es), status 0x{:04X}{}, {} ms",
      scp_.caller_.calling_ae, level, matches, status, comment.empty() ? "" : " (" + comment + ")",
      elapsed);
  const auto detail = comment.empty() ? nullptr : dicom::ErrorDetail(comment);
  return scp_.sendFINDResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                               nullptr, status, detail.get());
}

}  // namespace hokan::scp
