#pragma once

// What a Storage Commitment request names and what its report says, as
// plain values: the archive's commitment service and index, the DICOM codec
// (dicom/storage_commitment.h) and the relay all speak these.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hokan::archive {

// One instance a storage commitment request names.
struct CommitmentItem {
  std::string sop_class_uid;
  std::string sop_instance_uid;
};

// A storage commitment request as the N-ACTION carried it.
struct NewCommitmentRequest {
  std::int64_t facility_id = 0;
  std::string requester_ae;
  std::string transaction_uid;
  std::vector<CommitmentItem> items;
};

// Where a report goes on a new association.
struct ReportAddress {
  std::string ae_title;
  std::string host;
  int port = 0;
};

// Failure Reason (0008,1197) of an instance the archive cannot commit
// (PS3.4 J.3.3.1.1).
enum class CommitmentFailure : std::uint16_t {
  kProcessingFailure = 0x0110,       // file missing or unreadable, or bytes differ from the checksum
  kNoSuchObjectInstance = 0x0112,    // no such instance of the requester's facility
  kClassInstanceConflict = 0x0119,   // stored with another SOP Class UID
};

// What the check found for one requested instance.
struct CommitmentOutcome {
  CommitmentItem item;
  std::optional<CommitmentFailure> failure;  // nullopt: committed
  std::string detail;                        // why it failed, for the log
};

// The content of one N-EVENT-REPORT.
struct CommitmentReport {
  std::int64_t request_id = 0;
  std::int64_t facility_id = 0;
  std::string transaction_uid;
  std::string requester_ae;
  std::vector<CommitmentOutcome> outcomes;  // in the request's order

  int Committed() const {
    return static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                          [](const auto& outcome) { return !outcome.failure; }));
  }
  int Failed() const { return static_cast<int>(outcomes.size()) - Committed(); }
};

}  // namespace hokan::archive
