#pragma once

// Fee events: what a retrieval under a purpose costs, recorded once per
// billable fact. Knows nothing of DICOM: the DICOM edge reports which
// study's instances it delivered.

#include <cstdint>
#include <string>

#include "archive/common/clock.h"
#include "archive/index/database.h"

namespace hokan::billing {

// What one C-MOVE or C-GET delivered of one study.
struct StudyDelivery {
  std::int64_t facility_id = 0;     // the study's owner
  std::string study_instance_uid;
  std::string modality;             // the study's modality used for pricing ("" if unknown)
  int delivered = 0;                // instances sent successfully
  int failed = 0;                   // instances that failed
};

// Records fee events in PostgreSQL (table fee_events). Thread-safe.
class FeeRecorder {
 public:
  explicit FeeRecorder(archive::Database& database);

  // Records that `delivery` went to `calling_ae_title` under purpose
  // `purpose_id` at `at`. When nothing was delivered, nothing is recorded.
  // Otherwise one fee event per (facility, study, purpose, UTC day of `at`):
  // the first delivery that day charges the fee line in force that day
  // (the purpose's line for the modality, else its line without modality;
  // none: 0 in the purpose's currency, JPY by default); later deliveries
  // the same day (retries, parallel moves, partial re-sends) only add
  // their counts, in one statement guarded by the table's unique key.
  // Throws hokan::Error(kDatabase) when PostgreSQL fails.
  void RecordDelivery(std::int64_t purpose_id, const std::string& calling_ae_title,
                      const StudyDelivery& delivery, TimePoint at);

 private:
  archive::Database& database_;
};

}  // namespace hokan::billing
