#pragma once

// Storage Commitment as the relay speaks it with the archive: the N-ACTION
// it sends after a batch, and the N-EVENT-REPORT that answers it (on the
// same association, or later on one the archive opens to the relay).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dicom/dicom_sender.h"
#include "scu/relay_config.h"

class DcmDataset;

namespace hokan::relay {

// The archive as the relay's configuration names it ([relay] ae_title
// calling, [archive] address and timeouts).
dicom::SendTarget ArchiveTarget(const RelayConfig& config);
// "AE@host:port" of the archive, for log lines.
std::string ArchiveName(const RelayConfig& config);

// One N-EVENT-REPORT of the archive, as the relay needs it.
struct ArchiveReport {
  std::string transaction_uid;
  std::vector<std::string> committed;                          // SOP Instance UIDs
  std::vector<std::pair<std::string, std::uint16_t>> failed;   // UID, Failure Reason
};

// Reads the Event Information of a Storage Commitment N-EVENT-REPORT
// (Transaction UID, Referenced SOP Sequence, Failed SOP Sequence). Throws
// hokan::Error(kInvalidInput) when the Transaction UID is missing.
ArchiveReport ParseArchiveReport(DcmDataset& event_information);

// What came of one N-ACTION.
struct CommitmentAttempt {
  std::string error;          // not empty: no association or no N-ACTION-RSP
  std::uint16_t status = 0;   // the archive's N-ACTION-RSP status
  std::optional<ArchiveReport> report;  // when it came on the same association
};

// Opens an association to `archive` (Storage Commitment Push Model, SCU
// role), sends N-ACTION (action type 1) for `items` (SOP class, SOP
// instance) under `transaction_uid`, and — when the archive answered
// 0x0000 — waits up to `report_wait_seconds` for the N-EVENT-REPORT on the
// same association (answering it with success). Then releases. Never throws.
CommitmentAttempt RequestArchiveCommitment(
    const dicom::SendTarget& archive, const std::string& transaction_uid,
    const std::vector<std::pair<std::string, std::string>>& items, int report_wait_seconds);

// A new UID for a Storage Commitment transaction.
std::string NewTransactionUid();

}  // namespace hokan::relay
