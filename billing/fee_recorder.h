#pragma once

// Fee events: what a retrieval under a purpose costs, recorded once per
// billable fact. Knows nothing of DICOM: the DICOM edge reports which
// study's instances it delivered.

#include <cstdint>
#include <string>

#include "archive/common/clock.h"
#include "archive/index/database.h"
#include "archive/retrieve/retrieval_ledger.h"

namespace hokan::billing {

// What one C-MOVE or C-GET delivered of one study (the study's modality
// is the one used for pricing).
using StudyDelivery = archive::RetrievedStudy;

// Records fee events in PostgreSQL (table fee_events). Thread-safe. As the
// archive's RetrievalLedger it writes a retrieval's audit row and its fee
// events in one transaction (the retrieve service in archive/ cannot
// depend on billing, so billing implements the archive's interface).
class FeeRecorder : public archive::RetrievalLedger {
 public:
  explicit FeeRecorder(archive::Database& database);

  // One transaction: the audit row "retrieve" (actor the calling AE, the
  // caller's facility, the first studies as subject, counts, the owners of
  // shared studies, "ended early" and the purpose as detail) and, under a
  // purpose, a fee event for every study with a delivered instance, charged
  // to the caller's facility (`record.facility_id`: the caller pays, also
  // for a patient another facility shares with it) with the study's owner
  // beside it (owner_facility_id): one per (payer, owner, study, purpose,
  // UTC day of `record.at`). The first delivery that day charges the fee
  // line in force that day (the purpose's line for the modality, else its
  // line without modality; none: 0 in the purpose's currency, JPY by
  // default); later deliveries the same day (retries, parallel moves,
  // partial re-sends) only add their counts, guarded by the table's unique
  // key. Throws hokan::Error(kDatabase) when PostgreSQL fails (nothing is
  // written).
  void Record(const archive::RetrievalRecord& record) override;

 private:
  archive::Database& database_;
};

}  // namespace hokan::billing
