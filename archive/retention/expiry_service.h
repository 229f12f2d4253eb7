#pragma once

// Deleting what the storage conditions no longer keep: studies past their
// expires_at, the studies of a facility whose contract ended (plus grace),
// and the oldest studies of a facility over quota whose contract recycles.
// Held studies (legal_hold) are never deleted.
//
// A deletion is crash-safe and never blocks ingest for long: claimed in a
// short transaction (schema 007 expiry_deletions, one in flight per
// study), its files set aside in the file store's quarantine set <id>
// (durably), then one transaction deletes exactly the claimed instance rows
// (instances received since are kept, with the study), decrements
// facility_usage and writes the audit row; then the quarantine goes. A
// process that dies at any point leaves a deletion that the next run, on
// any node, finishes (or, when it may no longer go ahead, undoes).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/index/retention_index.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

struct ExpiryRunOptions {
  std::optional<std::int64_t> facility_id;  // only this facility's studies
  int batch_size = 100;                     // studies selected per batch; > 0
  std::optional<int> limit;                 // delete at most this many studies
  std::string actor;  // audit actor: "hokan-archive@<node>" or an operator
};

// One study the run deleted (all of it, or what was claimed of it).
struct ExpiredStudy {
  std::string study_instance_uid;
  std::string action;  // "study.expire" or "study.recycle"
  std::string reason;
  std::int64_t instances = 0;
  std::int64_t bytes = 0;
  std::int64_t instances_kept = 0;  // received after the claim, kept
};

struct ExpiryReport {
  std::vector<ExpiredStudy> deleted;
  int leftovers_settled = 0;  // deletions of an earlier, interrupted run finished or undone
  int cancelled = 0;          // claimed, then no longer due (e.g. a hold was set): files back
  std::vector<std::string> failures;  // one message per deletion that failed and was undone
  std::int64_t instances = 0;         // totals of `deleted`
  std::int64_t bytes = 0;
};

// Thread-safe; several services (nodes, the CLI) may run on one database
// and one file store at once: each study is deleted once.
class ExpiryService {
 public:
  // Both must outlive the service. `files` is the archive's file store.
  // `check_storage_root`, when given, is called before a run deletes
  // anything and before each batch: it throws hokan::Error to refuse the
  // store (a storage root that is not this database's: storage_root_guard.h),
  // and Run() then throws it on, having deleted nothing since the last check.
  ExpiryService(RetentionIndex& index, FileStore& files,
                std::function<void()> check_storage_root = {});

  // What a run at `now` would delete, in order, at most `limit`. Changes
  // nothing (and needs no file store). Throws hokan::Error(kDatabase).
  static std::vector<ExpiryCandidate> DryRun(RetentionIndex& index, TimePoint now,
                                             const std::optional<std::int64_t>& facility_id,
                                             int limit);

  // First settles deletions left unfinished by an interrupted run, then
  // selects, claims and deletes batches of due studies (at hokan::Now()
  // each) until none is due or options.limit is reached. A study that
  // fails is undone, reported in failures, and skipped for the rest of
  // the run; the run goes on. Throws hokan::Error(kDatabase) when the
  // database fails outside one study's deletion (what was done stays done
  // and the rest is settled by the next run).
  ExpiryReport Run(const ExpiryRunOptions& options);

 private:
  struct Settled;
  // Studies not to select again in this run: failed, cancelled, busy or
  // partly kept.
  using Excluded = std::vector<std::int64_t>;

  Settled Settle(std::int64_t deletion_id);
  void MoveAsideAndCommit(std::int64_t deletion_id, RetentionIndex::DeletionLock& lock,
                          const std::vector<std::string>& paths, Settled& settled);
  Settled SettleOrLeave(std::int64_t deletion_id, std::int64_t study_id,
                        const std::string& study_uid);
  void SettleLeftovers(const ExpiryRunOptions& options, ExpiryReport& report,
                       Excluded& excluded);
  bool DeleteNextBatch(const ExpiryRunOptions& options, ExpiryReport& report,
                       Excluded& excluded);
  static void Record(const Settled& settled, ExpiryReport& report, Excluded& excluded);

  void CheckStorageRoot() const;

  RetentionIndex& index_;
  FileStore& files_;
  std::function<void()> check_storage_root_;
};

}  // namespace hokan::archive
