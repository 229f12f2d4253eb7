#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hokan::archive {

// The backup timing of a facility's contract in effect: when the
// facility's relay (hokan-forward) forwards what it receives. The archive
// answers it to the relay (dicom/facility_contract.h).
struct ContractTiming {
  std::int64_t contract_id = 0;
  std::string facility;                  // the facility's name
  std::string backup_timing;             // "on_receipt" | "nightly" | "per_exam"
  std::optional<int> nightly_at_minutes;  // after 00:00 UTC; set iff nightly
  std::optional<int> exam_quiet_minutes;  // set iff per_exam
};

}  // namespace hokan::archive
