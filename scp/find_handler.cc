#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/find_handler.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dul.h"

#include "archive/common/log.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "scp/archive_scp.h"
#include "scp/find_identifier.h"

namespace hokan::scp {
namespace {

// Pending responses sent in batches of a few TCP segments instead of one
// segment per PDU: TCP_CORK holds what DIMSE writes (two PDUs per response)
// and every kResponsesPerBatch responses, and when the batch ends, uncorking
// sends it. On loopback each uncorked write cost a full transmit and a
// wake-up of the receiver, about a third of the archive's CPU per response.
// The batch is small so that the client works on one batch while the next
// is built. Without a TCP socket (corking refused) responses go out as
// before.
class ResponseBatch {
  // DcmTransportConnection::getSocket is protected; a derived class may name
  // it, and the member pointer it yields applies to any connection.
  struct SocketAccess : DcmTransportConnection {
    static DcmNativeSocketType Of(DcmTransportConnection& connection) {
      return (connection.*(&SocketAccess::getSocket))();
    }
  };

 public:
  static constexpr int kResponsesPerBatch = 16;

  explicit ResponseBatch(T_ASC_Association* association) {
    DcmTransportConnection* connection =
        association ? DUL_getTransportConnection(association->DULassociation) : nullptr;
    if (connection == nullptr) return;
    socket_ = SocketAccess::Of(*connection);
    if (!Cork(true)) socket_ = -1;
  }
  ~ResponseBatch() {
    if (socket_ >= 0) Cork(false);
  }
  ResponseBatch(const ResponseBatch&) = delete;
  ResponseBatch& operator=(const ResponseBatch&) = delete;

  // After each response: sends the batch when it is full.
  void Sent() {
    if (socket_ < 0 || ++in_batch_ < kResponsesPerBatch) return;
    in_batch_ = 0;
    if (!Cork(false) || !Cork(true)) socket_ = -1;
  }

 private:
  bool Cork(bool on) {
    const int value = on ? 1 : 0;
    if (::setsockopt(socket_, IPPROTO_TCP, TCP_CORK, &value, sizeof value) == 0) return true;
    Log(LogLevel::kDebug, "C-FIND responses unbatched: TCP_CORK {}: {}", on ? "on" : "off",
        std::strerror(errno));
    return false;
  }

  int socket_ = -1;
  int in_batch_ = 0;
};

}  // namespace

archive::FindLimits FindLimitsOf(const archive::ArchiveConfig& config) {
  archive::FindLimits limits;
  limits.max_matches = static_cast<std::size_t>(config.limits.find_max_matches);
  limits.statement_timeout = std::chrono::milliseconds(config.limits.find_statement_timeout_ms);
  return limits;
}

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
  const FindIdentifierResult parsed = ParseFindIdentifier(
      *identifier, *model, {caller.facility_id}, IdentifierLimitsOf(scp_.services_.config));
  if (!parsed.ok) {
    return Finish(context_id, request,
                  parsed.too_large ? dicom::status::kOutOfResources
                                   : dicom::status::kDoesNotMatchSopClass,
                  parsed.error, 0, "?");
  }
  const char* level = LevelName(parsed.identifier.request.level);

  OFCondition sent = EC_Normal;
  bool cancelled = false;
  archive::QueryOutcome outcome;
  {
    ResponseBatch batch(scp_.association_);  // sent by the end of this block
    FindResponseBuilder responses(parsed.identifier);
    outcome = scp_.services_.query.Find(
        QueryScopeOf(caller), parsed.identifier.request, FindLimitsOf(scp_.services_.config),
        [&](const archive::FindMatch& match) {
          if (scp_.checkForCANCEL(context_id, request.MessageID) == EC_Normal) {
            cancelled = true;
            return false;
          }
          sent = scp_.sendFINDResponse(context_id, request.MessageID,
                                       request.AffectedSOPClassUID, &responses.For(match),
                                       dicom::status::kPending, nullptr);
          batch.Sent();
          return sent.good();
        });
  }
  if (sent.bad()) return sent;
  switch (outcome.status) {
    case archive::QueryStatus::kInvalidQuery:
      return Finish(context_id, request, dicom::status::kDoesNotMatchSopClass, outcome.message,
                    0, level);
    case archive::QueryStatus::kUnavailable:
    case archive::QueryStatus::kTooManyMatches:  // refused before any response
    case archive::QueryStatus::kTimedOut:
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
  const auto detail = comment.empty() ? nullptr : dicom::ErrorDetail(comment);
  const OFCondition sent = scp_.sendFINDResponse(context_id, request.MessageID,
                                                 request.AffectedSOPClassUID, nullptr, status,
                                                 detail.get());
  // Request received to final response sent.
  const double elapsed_ms = std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - started_).count();
  Log(status == dicom::status::kSuccess ? LogLevel::kInfo : LogLevel::kWarn,
      "C-FIND from {} at {} level: {} match(es), status 0x{:04X}{}, {:.2f} ms",
      scp_.caller_.calling_ae, level, matches, status, comment.empty() ? "" : " (" + comment + ")",
      elapsed_ms);
  return sent;
}

}  // namespace hokan::scp
