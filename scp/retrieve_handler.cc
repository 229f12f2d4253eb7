#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/retrieve_handler.h"

#include "dcmtk/dcmdata/dcdeftag.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "archive/common/log.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "scp/archive_scp.h"
#include "scp/find_identifier.h"

namespace hokan::scp {
namespace {

// Splits a value list ("1.2\1.3") into its values.
std::vector<std::string> SplitValues(const std::string& value) {
  std::vector<std::string> values;
  std::size_t start = 0;
  for (;;) {
    const auto end = value.find('\\', start);
    values.push_back(value.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return values;
    start = end + 1;
  }
}

}  // namespace

// Has the retrieval recorded exactly once, on whichever path it ends: after
// the last sub-operation, on C-CANCEL, when the requestor is gone (a pending
// response that cannot be sent) or by an exception. What was delivered by
// then is charged (fee events) and audited.
class RecordOnce {
 public:
  RecordOnce(const archive::RetrieveService& service, archive::RetrievalCaller caller,
             const std::string& operation, const archive::RetrievalPlan& plan)
      : service_(service), caller_(std::move(caller)), operation_(operation), plan_(plan),
        results_(plan.deliveries.size(), archive::DeliveryResult::kNotAttempted) {}
  RecordOnce(const RecordOnce&) = delete;
  RecordOnce& operator=(const RecordOnce&) = delete;
  ~RecordOnce() {
    try {
      Record(/*ended_early=*/true);
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "{} by {}: not recorded: {}", operation_, caller_.calling_ae,
          error.what());
    }
  }

  void Record(bool ended_early) {
    if (recorded_) return;
    recorded_ = true;
    service_.Record(caller_, operation_, plan_, results_, ended_early);
  }

  // How each delivery went, by index into the plan (kNotAttempted until sent).
  std::vector<archive::DeliveryResult>& results() { return results_; }

 private:
  const archive::RetrieveService& service_;
  const archive::RetrievalCaller caller_;
  const std::string& operation_;
  const archive::RetrievalPlan& plan_;
  std::vector<archive::DeliveryResult> results_;
  bool recorded_ = false;
};

Uint16 ResponseCount(std::size_t value) {
  return static_cast<Uint16>(std::min<std::size_t>(value, 65535));
}

std::string RetrieveRequestOf(const archive::FindRequest& parsed,
                              archive::InformationModel model, const std::string& operation,
                              archive::RetrieveRequest* request) {
  request->model = model;
  request->level = parsed.level;
  for (const auto& key : parsed.keys) {
    if (key.value.empty()) continue;
    std::vector<std::string>* target = nullptr;
    switch (key.tag) {
      case 0x00100020: target = &request->patient_ids; break;
      case 0x0020000D: target = &request->study_instance_uids; break;
      case 0x0020000E: target = &request->series_instance_uids; break;
      case 0x00080018: target = &request->sop_instance_uids; break;
      default: continue;  // retrieval matches on unique keys only
    }
    *target = SplitValues(key.value);
    for (const auto& value : *target) {
      if (value.find_first_of("*?") != std::string::npos) {
        return fmt::format("wildcards are not allowed in {} keys", operation);
      }
    }
  }
  return {};
}

RetrieveHandler::RetrieveHandler(ArchiveScp& scp, std::string operation,
                                 T_ASC_PresentationContextID context_id, Uint16 message_id,
                                 RetrieveResponder respond)
    : scp_(scp), operation_(std::move(operation)), context_id_(context_id),
      message_id_(message_id), respond_(std::move(respond)) {}

OFCondition RetrieveHandler::Run(DcmDataset& identifier, archive::InformationModel model,
                                 SubOperationSender& sender) {
  const CallerScope& caller = scp_.caller_;
  if (!caller.may_retrieve) {
    return Finish(dicom::status::kRefusedNotAuthorized, NotGrantedComment(caller));
  }
  const FindIdentifierResult parsed = ParseFindIdentifier(
      identifier, model, {caller.facility_id}, IdentifierLimitsOf(scp_.services_.config));
  if (!parsed.ok) return Finish(dicom::status::kDoesNotMatchSopClass, parsed.error);
  level_ = LevelName(parsed.identifier.request.level);
  archive::RetrieveRequest request;
  const std::string refused =
      RetrieveRequestOf(parsed.identifier.request, model, operation_, &request);
  if (!refused.empty()) return Finish(dicom::status::kDoesNotMatchSopClass, refused);

  const archive::RetrievalPlan plan =
      scp_.services_.retrieve.Plan(RetrievalCallerOf(caller), request);
  switch (plan.status) {
    case archive::RetrievePlanStatus::kInvalidRequest:
      return Finish(dicom::status::kDoesNotMatchSopClass, plan.message);
    case archive::RetrievePlanStatus::kUnavailable:
      return Finish(dicom::status::kOutOfResources, plan.message);
    case archive::RetrievePlanStatus::kPlanned:
      break;
  }
  if (plan.left_out > 0) {
    Log(LogLevel::kInfo, "{} from {}: {} of {} instance(s) outside purpose '{}' left out",
        operation_, caller.calling_ae, plan.left_out, plan.left_out + plan.deliveries.size(),
        caller.purpose ? caller.purpose->name : std::string());
  }
  matches_ = plan.deliveries.size();
  RecordOnce recorder(scp_.services_.retrieve, RetrievalCallerOf(caller), operation_, plan);
  if (plan.deliveries.empty()) {
    recorder.Record(/*ended_early=*/false);
    return Finish(dicom::status::kSuccess, {});
  }
  scp_.services_.retrieve.ReadAhead(plan, 0);
  const std::string open_error = sender.Open(plan);
  if (!open_error.empty()) {
    progress_.failed = static_cast<int>(plan.deliveries.size());
    for (const auto& delivery : plan.deliveries) {
      progress_.failed_uids.push_back(delivery.instance.sop_instance_uid);
    }
    recorder.results().assign(plan.deliveries.size(), archive::DeliveryResult::kFailed);
    recorder.Record(/*ended_early=*/false);
    return Finish(dicom::status::kOutOfResourcesSubOperations, open_error);
  }
  return SendAll(plan, sender, recorder);
}

// Leaves early when the requestor is gone: `recorder` then records what
// was delivered (its destructor).
OFCondition RetrieveHandler::SendAll(const archive::RetrievalPlan& plan,
                                     SubOperationSender& sender, RecordOnce& recorder) {
  const archive::RetrieveService& service = scp_.services_.retrieve;
  const std::size_t total = plan.deliveries.size();
  std::vector<archive::DeliveryResult>& results = recorder.results();
  for (std::size_t i = 0; i < total; ++i) {
    if (scp_.checkForCANCEL(context_id_, message_id_) == EC_Normal) {
      progress_.remaining = total - i;
      recorder.Record(/*ended_early=*/true);
      return Finish(dicom::status::kCancel, "cancelled");
    }
    service.ReadAhead(plan, i);
    const archive::Delivery& delivery = plan.deliveries[i];
    const dicom::SendResult sent = sender.Send(delivery);
    if (sent.ok) {
      results[i] = archive::DeliveryResult::kDelivered;
      ++progress_.completed;
      if (sent.warning) ++progress_.warnings;
    } else {
      results[i] = archive::DeliveryResult::kFailed;
      ++progress_.failed;
      progress_.failed_uids.push_back(delivery.instance.sop_instance_uid);
      Log(LogLevel::kWarn, "{} of {} failed: {}", operation_, delivery.instance.sop_instance_uid,
          sent.reason);
    }
    progress_.remaining = total - i - 1;
    if (progress_.remaining > 0) {
      const OFCondition pending = respond_(dicom::status::kPending, nullptr, nullptr, progress_);
      if (pending.bad()) {
        Log(LogLevel::kWarn, "{} from {}: the requestor is gone after {} of {} sub-operations: {}",
            operation_, scp_.caller_.calling_ae, i + 1, total, pending.text());
        return pending;  // `recorder` records what was delivered
      }
    }
  }
  recorder.Record(/*ended_early=*/false);
  if (progress_.failed == 0) return Finish(dicom::status::kSuccess, {});
  return Finish(progress_.completed > 0 ? dicom::status::kSubOperationsCompleteWithFailures
                                        : dicom::status::kOutOfResourcesSubOperations,
                fmt::format("{} of {} sub-operations failed", progress_.failed, total));
}

OFCondition RetrieveHandler::Finish(std::uint16_t status, const std::string& comment) {
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started_).count();
  Log(status == dicom::status::kSuccess ? LogLevel::kInfo : LogLevel::kWarn,
      "{} from {} at {} level: {} match(es), {} completed, {} failed, {} warning(s), "
      "status 0x{:04X}{}, {} ms",
      operation_, scp_.caller_.calling_ae, level_, matches_, progress_.completed,
      progress_.failed, progress_.warnings, status, comment.empty() ? "" : " (" + comment + ")",
      elapsed);
  std::unique_ptr<DcmDataset> response;
  if (!progress_.failed_uids.empty()) {
    response = std::make_unique<DcmDataset>();
    std::string list;
    for (const auto& uid : progress_.failed_uids) list += (list.empty() ? "" : "\\") + uid;
    response->putAndInsertString(DCM_FailedSOPInstanceUIDList, list.c_str());
  }
  const auto detail = comment.empty() ? nullptr : dicom::ErrorDetail(comment);
  return respond_(status, response.get(), detail.get(), progress_);
}

}  // namespace hokan::scp
