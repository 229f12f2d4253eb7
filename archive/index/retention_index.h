#pragma once

// The SQL side of expiry (schema 005 studies/contracts/facility_usage,
// schema 007 expiry_deletions): which studies are due, claiming them, and
// the one transaction that deletes a claimed study's rows. The file side
// and the order of steps are archive/retention/expiry_service.h.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/index/database.h"
#include "archive/model/expiry_cause.h"

namespace hokan::archive {

// A study due for deletion, and why.
struct ExpiryCandidate {
  std::int64_t study_id = 0;
  std::int64_t facility_id = 0;
  std::string facility_name;
  std::string study_instance_uid;
  ExpiryFacts facts;
  std::string expires_at;  // UTC, "" when the study has none
  std::int64_t instances = 0;  // counted from its instance rows now
  std::int64_t bytes = 0;
};

struct ExpirySelection {
  TimePoint now;
  std::optional<std::int64_t> facility_id;  // only this facility
  int limit = 100;                          // at most this many studies
  std::vector<std::int64_t> excluded_study_ids;  // e.g. failed earlier in this run
};

struct DeletionFile {
  std::int64_t instance_id = 0;
  std::string relative_path;  // below the storage root
};

// A row of expiry_deletions with its files.
struct ExpiryDeletion {
  std::int64_t id = 0;
  std::int64_t study_id = 0;
  std::int64_t facility_id = 0;
  std::string study_instance_uid;
  ExpiryCause cause = ExpiryCause::kExpired;
  std::string reason;
  std::string actor;
  std::string state;  // pending, deleted, cancelled, finished
  std::vector<DeletionFile> files;
};

// What the deleting transaction did.
struct DeletionCommit {
  bool deleted = false;      // false: cancelled, see cancel_note
  std::string cancel_note;   // e.g. "a legal hold was set"
  std::int64_t instances = 0;  // instance rows deleted
  std::int64_t bytes = 0;
  bool study_removed = false;  // false: instances received meanwhile were kept
  std::int64_t instances_kept = 0;
};

// Thread-safe. Every method throws hokan::Error(kDatabase) naming what
// failed when PostgreSQL fails.
class RetentionIndex {
 public:
  explicit RetentionIndex(Database& database);  // must outlive this

  // The id of the facility named `name`; nullopt when unknown.
  std::optional<std::int64_t> FacilityId(const std::string& name);

  // Studies due at selection.now, at most selection.limit, none with a
  // deletion in flight: expired ones (by expires_at) first, then those of
  // facilities whose contract ended, then the oldest of facilities over
  // quota that recycle (as many as bring usage under the quota, counting
  // the studies' size counters). Held studies are never due. Reads only.
  std::vector<ExpiryCandidate> SelectDue(const ExpirySelection& selection);

  // Records a pending deletion of candidate.study_id with the study's
  // instance files as they are now, unless the study is gone, held, or
  // already being deleted (then nullopt). Returns the deletion id.
  std::optional<std::int64_t> Claim(const ExpiryCandidate& candidate, const std::string& reason,
                                    const std::string& actor);

  // Ids of deletions not finished (of one facility when given), oldest first.
  std::vector<std::int64_t> Unsettled(const std::optional<std::int64_t>& facility_id);

  class DeletionLock;
  // Exclusive work on deletion `id` across all nodes and processes (a
  // PostgreSQL session advisory lock, released when the lock is destroyed
  // or the session dies). nullptr when someone else holds it. Keeps one
  // pooled connection until destroyed.
  std::unique_ptr<DeletionLock> Lock(std::int64_t deletion_id);

 private:
  Database& database_;
};

// Operations on one locked deletion. Not thread-safe.
class RetentionIndex::DeletionLock {
 public:
  ~DeletionLock();  // unlocks; never throws
  DeletionLock(const DeletionLock&) = delete;
  DeletionLock& operator=(const DeletionLock&) = delete;

  // The deletion and its files; nullopt when no such deletion exists.
  std::optional<ExpiryDeletion> Load();

  // Why a pending deletion may no longer go ahead at `now` (a hold was
  // set, the expiry moved, a contract is current again, usage is under
  // quota); nullopt while it is still due. Reads only.
  std::optional<std::string> WhyNotDue(TimePoint now);

  // The deleting transaction for a pending deletion whose files are in
  // quarantine: re-checks WhyNotDue under row locks (then only marks it
  // cancelled); deletes the listed instance rows, the series, study and
  // patient left empty (instances received since the claim are kept and
  // the study's counters recomputed), decrements facility_usage, writes
  // the audit row, and marks it deleted. Transient conflicts are retried.
  DeletionCommit Commit(TimePoint now);

  // Marks a pending deletion cancelled with `note` (files to be restored).
  void Cancel(const std::string& note);

  // The files of a cancelled deletion that must go back: those whose
  // instance row still exists at the same path.
  std::vector<std::string> FilesToRestore();

  // Marks a deleted or cancelled deletion finished and forgets its files.
  void Finish();

 private:
  friend class RetentionIndex;
  struct Session;  // the leased connection (sql/retention_sql.h)
  DeletionLock(std::unique_ptr<Session> session, std::int64_t deletion_id);

  std::unique_ptr<Session> session_;
  std::int64_t deletion_id_;
};

}  // namespace hokan::archive
