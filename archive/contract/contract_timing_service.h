#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "archive/common/clock.h"
#include "archive/model/contract_timing.h"

namespace hokan::archive {

class StorageConditionsIndex;

// Answers "when does this facility's relay forward?": the backup timing of
// the facility's contract in effect (not superseded, its service period
// holding the UTC date of `now`). Thread-safe.
class ContractTimingService {
 public:
  explicit ContractTimingService(StorageConditionsIndex& conditions);  // must outlive this

  // The timing of `facility_id`'s contract in effect at `now`; nullopt
  // when it has none. `facility_name` is copied into the answer. Throws
  // hokan::Error(kDatabase) when the index cannot be read.
  std::optional<ContractTiming> InEffect(std::int64_t facility_id,
                                         const std::string& facility_name, TimePoint now);

 private:
  StorageConditionsIndex& conditions_;
};

}  // namespace hokan::archive
