#pragma once

// What a retrieval leaves behind: one audit row and, under a purpose, one
// fee event per study delivered. The retrieve service fills the record;
// billing writes it (billing depends on archive, never the other way, so
// the service only sees this interface).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"

namespace hokan::archive {

// What one retrieval delivered of one study.
struct RetrievedStudy {
  std::int64_t facility_id = 0;  // the study's owner (not the payer: see RetrievalRecord)
  std::string study_instance_uid;
  std::string modality;          // of its first delivered instance ("" if unknown)
  int delivered = 0;             // instances sent successfully
  int failed = 0;                // instances that failed
};

// One C-MOVE or C-GET (or, next, a WADO request), after its last
// sub-operation or when it ended early (cancelled, the requestor gone):
// what was delivered by then is charged.
struct RetrievalRecord {
  std::string operation;           // "C-MOVE to VIEWER", "C-GET": for the audit row
  std::int64_t facility_id = 0;    // the caller's facility: it pays the fees
  std::string calling_ae;
  std::optional<std::int64_t> purpose_id;  // nullopt: no purpose, no fees
  std::string purpose_name;
  std::vector<RetrievedStudy> studies;  // in the order they were sent; may be empty
  bool ended_early = false;        // the association ended before the last sub-operation
  TimePoint at;
};

// Writes retrieval records. Implementations are thread-safe and write
// the audit row and every fee event of one record in one transaction
// (all or none). Throws hokan::Error(kDatabase) when that fails.
class RetrievalLedger {
 public:
  virtual ~RetrievalLedger() = default;
  virtual void Record(const RetrievalRecord& record) = 0;
};

}  // namespace hokan::archive
