#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/rules/storage_decision.h"

namespace hokan::archive {

class Database;

// What ingest needs to decide about a facility's data: its current
// contract and the rules in evaluation order.
struct StorageConditions {
  std::optional<StorageContract> contract;  // nullopt: no current contract
  std::vector<StorageRule> rules;  // the facility's by position, then the global ones
};

// Reads contracts, rules and patient choices (schema 005). Thread-safe.
class StorageConditionsIndex {
 public:
  explicit StorageConditionsIndex(Database& database);  // must outlive this

  // The contract of `facility_id` that is not superseded and whose
  // [starts_on, ends_on] holds the UTC date of `now`, and the rules not
  // deleted. Throws hokan::Error(kDatabase); hokan::Error(kInternal) for a
  // stored period that does not parse.
  StorageConditions Load(std::int64_t facility_id, TimePoint now);

  // "opt_in", "opt_out", or nullopt when the patient made no choice.
  std::optional<std::string> PatientChoice(std::int64_t facility_id,
                                           const std::string& patient_id);

  // The id of the facility named `name`; nullopt when unknown.
  std::optional<std::int64_t> FacilityId(const std::string& name);

  // The facility's stored bytes (facility_usage; 0 when it has no row).
  std::int64_t UsedBytes(std::int64_t facility_id);

  // An audit row "ingest.refuse" for a C-STORE refused by the storage
  // conditions. Throws hokan::Error(kDatabase).
  void RecordRefusal(std::int64_t facility_id, const std::string& calling_ae,
                     const std::string& sop_instance_uid, std::uint16_t status,
                     const std::string& reason);

 private:
  Database& database_;
};

}  // namespace hokan::archive
