#include "archive/retrieve/retrieve_service.h"

#include <algorithm>
#include <map>
#include <utility>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/model/available_range.h"

namespace hokan::archive {
namespace {

// Files are hinted this many at a time, one step ahead of the sender.
constexpr std::size_t kReadAheadStep = 128;

bool Exceeds(const std::optional<int>& limit, int size) { return limit && size > *limit; }

}  // namespace

bool RangeIncludes(const RangeFilter& filter, const std::string& modality,
                   const std::string& sop_class_uid) {
  return InRange(filter.sop_class_uids, filter.every_modality, filter.modalities,
                 filter.include_reports, modality, sop_class_uid);
}

DeliveryForm FormUnder(const std::optional<RetrievalRange>& range, int rows, int columns) {
  if (!range || rows <= 0 || columns <= 0) return DeliveryForm::kAsStored;
  if (range->lossy_only || Exceeds(range->max_rows, rows) ||
      Exceeds(range->max_columns, columns)) {
    return DeliveryForm::kDerived;
  }
  return DeliveryForm::kAsStored;
}

RetrievalPlan RetrieveService::Plan(const RetrievalCaller& caller,
                                    RetrieveRequest request) const {
  request.facility_ids = {caller.facility_id};
  request.include_shared_patients = true;
  RetrievalPlan plan;
  std::vector<StoredInstance> instances;
  try {
    instances = index_.FindInstancesToRetrieve(request);
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kInvalidInput) {
      plan.status = RetrievePlanStatus::kInvalidRequest;
      plan.message = error.what();
    } else {
      Log(LogLevel::kError, "retrieval by {}: {}", caller.calling_ae, error.what());
      plan.status = RetrievePlanStatus::kUnavailable;
      plan.message = "the index is unavailable; retry later";
    }
    return plan;
  }
  plan.deliveries.reserve(instances.size());
  for (auto& instance : instances) {
    if (caller.purpose &&
        !RangeIncludes(caller.purpose->filter, instance.modality, instance.sop_class_uid)) {
      ++plan.left_out;
      continue;
    }
    const DeliveryForm form = FormUnder(caller.purpose, instance.rows, instance.columns);
    plan.deliveries.push_back({std::move(instance), form});
  }
  return plan;
}

void RetrieveService::ReadAhead(const RetrievalPlan& plan, std::size_t next) const {
  if (next % kReadAheadStep != 0) return;
  // The first call hints two steps; each later one the step after the next.
  const std::size_t from = next == 0 ? 0 : next + kReadAheadStep;
  const std::size_t to = std::min(plan.deliveries.size(), next + 2 * kReadAheadStep);
  if (from >= to) return;
  std::vector<std::string> paths;
  paths.reserve(to - from);
  for (std::size_t i = from; i < to; ++i) paths.push_back(plan.deliveries[i].instance.relative_path);
  files_.ReadAhead(paths);
}

std::vector<RetrievedStudy> StudiesOf(const RetrievalPlan& plan,
                                      const std::vector<DeliveryResult>& results) {
  std::vector<RetrievedStudy> studies;
  std::map<std::pair<std::int64_t, std::string>, std::size_t> index_of;
  for (std::size_t i = 0; i < plan.deliveries.size() && i < results.size(); ++i) {
    if (results[i] == DeliveryResult::kNotAttempted) continue;
    const StoredInstance& instance = plan.deliveries[i].instance;
    const auto key = std::make_pair(instance.facility_id, instance.study_instance_uid);
    auto [found, inserted] = index_of.try_emplace(key, studies.size());
    if (inserted) {
      RetrievedStudy study;
      study.facility_id = instance.facility_id;
      study.study_instance_uid = instance.study_instance_uid;
      studies.push_back(std::move(study));
    }
    RetrievedStudy& study = studies[found->second];
    if (results[i] == DeliveryResult::kDelivered) {
      if (study.delivered == 0) study.modality = instance.modality;
      ++study.delivered;
    } else {
      ++study.failed;
    }
  }
  return studies;
}

void RetrieveService::Record(const RetrievalCaller& caller, const std::string& operation,
                             const RetrievalPlan& plan,
                             const std::vector<DeliveryResult>& results, bool ended_early) const {
  if (ledger_ == nullptr) return;
  RetrievalRecord record;
  record.studies = StudiesOf(plan, results);
  record.ended_early = ended_early;
  record.operation = operation;
  record.facility_id = caller.facility_id;
  record.calling_ae = caller.calling_ae;
  if (caller.purpose) {
    record.purpose_id = caller.purpose->purpose_id;
    record.purpose_name = caller.purpose->purpose_name;
  }
  record.at = Now();
  try {
    ledger_->Record(record);
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "{} by {}: fee events and audit not recorded: {}", operation,
        caller.calling_ae, error.what());
  }
}

}  // namespace hokan::archive
