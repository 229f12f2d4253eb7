#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "archive/common/clock.h"
#include "archive/index/storage_conditions_index.h"
#include "archive/model/instance_attributes.h"
#include "archive/rules/storage_decision.h"

namespace hokan::archive {

// What the caller of one association may store, as its admission found it.
struct StoreRights {
  bool may_store = false;          // false: the AE title may only query and retrieve
  bool may_store_reports = true;   // false: its purpose may not store report classes
  std::string purpose_name;        // the purpose, for the refusal's reason ("" for none)
};

// A facility's storage conditions as one association applies them: the
// current contract and the rules are read once, when the gate opens (the
// association's first C-STORE), so a change takes effect from the next
// association. Patient choices are read once per patient. Not thread-safe
// (one association's thread).
class StorageGate {
 public:
  // Throws hokan::Error(kDatabase) when the conditions cannot be read.
  StorageGate(StorageConditionsIndex& index, std::int64_t facility_id, TimePoint now);

  // Whether and how one instance is kept (DecideStorage), or a refusal with
  // status kRefusedNotAuthorized when the facility has no current contract.
  // Throws hokan::Error(kDatabase).
  StorageDecision Decide(const std::string& calling_ae, const InstanceAttributes& attributes,
                         TimePoint received_at);

  const std::optional<StorageContract>& contract() const { return conditions_.contract; }
  std::int64_t facility_id() const { return facility_id_; }

 private:
  StorageConditionsIndex& index_;
  std::int64_t facility_id_;
  StorageConditions conditions_;
  std::unordered_map<std::string, std::optional<std::string>> patient_choices_;
};

}  // namespace hokan::archive
