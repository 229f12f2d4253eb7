#include "archive/contract/contract_timing_service.h"

#include "archive/index/storage_conditions_index.h"

namespace hokan::archive {

ContractTimingService::ContractTimingService(StorageConditionsIndex& conditions)
    : conditions_(conditions) {}

std::optional<ContractTiming> ContractTimingService::InEffect(std::int64_t facility_id,
                                                              const std::string& facility_name,
                                                              TimePoint now) {
  const StorageConditions conditions = conditions_.Load(facility_id, now);
  if (!conditions.contract) return std::nullopt;
  const StorageContract& contract = *conditions.contract;
  ContractTiming timing;
  timing.contract_id = contract.id;
  timing.facility = facility_name;
  timing.backup_timing = contract.backup_timing;
  timing.nightly_at_minutes = contract.nightly_at_minutes;
  timing.exam_quiet_minutes = contract.exam_quiet_minutes;
  return timing;
}

}  // namespace hokan::archive
