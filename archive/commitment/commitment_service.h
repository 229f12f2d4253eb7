#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "archive/index/commitment_index.h"
#include "archive/index/job_queue.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// Why an N-ACTION is not accepted although it is well-formed.
struct CommitmentRefusal {
  std::string reason;  // names the AE and what to configure
};

// The result of Accept(): either the stored request or a refusal.
struct CommitmentAcceptance {
  std::optional<AddedCommitmentRequest> accepted;
  std::optional<CommitmentRefusal> refused;
};

// Storage Commitment Push Model, without DICOM: keeps requests durably with
// a report job, checks instances, and records delivered reports.
// An instance is committed when its index row exists for the requester's
// facility with the requested SOP Class UID, its file exists, and the
// file's content matches instances.checksum_sha256: read and hashed again,
// except within 10 minutes of its ingest, when the file's presence and its
// size as ingest hashed it suffice (why that is safe: commitment_service.cc,
// kIngestChecksumTrustedFor). Thread-safe.
// Methods throw hokan::Error(kDatabase) when PostgreSQL fails.
class CommitmentService {
 public:
  // All references must outlive the service. `node` names this node.
  // `same_association_window`: how long the job waits before sending on a
  // new association, giving the requester's association the first chance.
  CommitmentService(Database& database, FileStore& files, std::string node,
                    std::chrono::seconds same_association_window);

  // Stores a well-formed request (valid UIDs, at least one item) and its
  // report job in one transaction. Refused, storing nothing, when the
  // requester AE has no address (host/port) in its facility, since then a
  // report could not be sent if its association ends first.
  CommitmentAcceptance Accept(const NewCommitmentRequest& request);

  // Checks every instance of request `request_id` now.
  // Throws hokan::Error(kInvalidInput) for an unknown request id.
  CommitmentReport Check(std::int64_t request_id);

  // The request's state ("pending", "reported", "failed"); nullopt if none.
  std::optional<std::string> StateOf(std::int64_t request_id);

  // Where the report of `report` goes on a new association; nullopt when
  // its AE has no address any more.
  std::optional<ReportAddress> AddressOf(const CommitmentReport& report);

  // The report was delivered on the requester's association: records it
  // and finishes job `job_id`.
  void RecordSameAssociation(const CommitmentReport& report, std::int64_t job_id);

  // The report could not go on the requester's association: job `job_id`
  // becomes runnable now (it sends on a new association).
  void HandOver(std::int64_t job_id);

  // The report was delivered on a new association to `address`.
  void RecordNewAssociation(const CommitmentReport& report, const ReportAddress& address);

  // A delivery attempt failed; `gave_up` when it was the job's last.
  void RecordFailedAttempt(std::int64_t request_id, const std::string& error, bool gave_up);

  // The request id in a report job's payload ({"request_id": N}).
  // Throws hokan::Error(kInvalidInput) for any other payload.
  static std::int64_t RequestIdOf(const Job& job);

  // How long a failed delivery waits before attempt `attempts` + 1:
  // 15 s doubled per attempt, at most one hour.
  static std::chrono::seconds RetryDelay(int attempts);

 private:
  CommitmentOutcome CheckOne(const CommitmentItem& item, const IndexedCopy* copy, TimePoint now);
  // Why `file` is not the file of `size_bytes` ingest stored; nullopt when it is.
  static std::optional<std::string> SizeProblem(const std::filesystem::path& file,
                                                std::int64_t size_bytes);

  CommitmentIndex index_;
  FileStore& files_;
  std::string node_;
  std::chrono::seconds same_association_window_;
};

}  // namespace hokan::archive
