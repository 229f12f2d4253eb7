#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/model/commitment_types.h"

namespace hokan::archive {

class Database;

// A request as kept in commitment_requests / commitment_items (schema 008).
struct StoredCommitmentRequest {
  std::int64_t id = 0;
  std::int64_t facility_id = 0;
  std::string requester_ae;
  std::string transaction_uid;
  std::string state;  // "pending", "reported" or "failed"
  std::vector<CommitmentItem> items;  // in the N-ACTION's order
};

// What the index holds of a facility's stored instance.
struct IndexedCopy {
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::string relative_path;
  std::string checksum_sha256;
  std::int64_t size_bytes = 0;  // as hashed at ingest
  TimePoint received_at;        // when ingest committed the row
};

// What a delivered report said about item `position` of its request.
struct ReportedItem {
  int position = 0;
  std::optional<std::uint16_t> failure_reason;  // nullopt: committed
};

// The ids of an accepted request and of its report job.
struct AddedCommitmentRequest {
  std::int64_t request_id = 0;
  std::int64_t job_id = 0;
};

// Storage commitment requests, their report jobs and outcomes in
// PostgreSQL. Thread-safe. Every method throws hokan::Error(kDatabase) when
// PostgreSQL fails (then nothing of that call is committed).
class CommitmentIndex {
 public:
  // The job kind of a pending report; its payload is {"request_id": N}.
  static constexpr const char* kReportJobKind = "commitment-report";

  // `database` must outlive the index.
  explicit CommitmentIndex(Database& database);

  // In one transaction: the request, its items, and a kReportJobKind job
  // runnable from `report_after`. `node` names the receiving node.
  AddedCommitmentRequest AddRequest(const NewCommitmentRequest& request, const std::string& node,
                                    TimePoint report_after);

  // The request with its items; nullopt when there is none with that id.
  std::optional<StoredCommitmentRequest> FindRequest(std::int64_t request_id);

  // The facility's instances among `sop_instance_uids` (absent ones are
  // simply not returned).
  std::vector<IndexedCopy> FindInstances(std::int64_t facility_id,
                                         const std::vector<std::string>& sop_instance_uids);

  // Host and port of the enabled AE `ae_title` of `facility_id` (its
  // report destination, else the facility's move destination of that AE
  // title); nullopt when it is unknown there or has no address. Another
  // facility's rows of the same AE title are never used.
  std::optional<ReportAddress> FindReportAddress(std::int64_t facility_id,
                                                 const std::string& ae_title);

  // Records a delivered report: per-item outcomes, counts, when, and on
  // which association ("same" or "new", with `address` for a new one).
  // With `finished_job_id`, also marks that job done (if still pending) by
  // `node`, in the same transaction.
  void RecordReported(std::int64_t request_id, const std::vector<ReportedItem>& items,
                      const std::string& association, const std::string& address,
                      std::optional<std::int64_t> finished_job_id, const std::string& node);

  // Records a failed delivery attempt; with `gave_up` the request is failed.
  void RecordAttempt(std::int64_t request_id, const std::string& error, bool gave_up);

  // Makes the pending job runnable now (the report could not go on the
  // requester's association, so the job sends it on a new one).
  void RunJobNow(std::int64_t job_id);

 private:
  Database& database_;
};

}  // namespace hokan::archive
