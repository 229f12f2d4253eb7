#include "archive/retention/expiry_service.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/failpoint.h"
#include "archive/common/log.h"
#include "archive/retention/deletion_files.h"
#include "archive/retention/expiry_reason.h"

namespace hokan::archive {

// How one deletion ended in this call.
struct ExpiryService::Settled {
  enum class State { kDeleted, kCancelled, kFailed, kBusy, kGone };
  State state = State::kGone;
  std::int64_t study_id = 0;
  ExpiredStudy study;
  std::string message;  // kCancelled, kFailed: why
};

ExpiryService::ExpiryService(RetentionIndex& index, FileStore& files,
                             std::function<void()> check_storage_root)
    : index_(index), files_(files), check_storage_root_(std::move(check_storage_root)) {}

void ExpiryService::CheckStorageRoot() const {
  if (check_storage_root_) check_storage_root_();
}

std::vector<ExpiryCandidate> ExpiryService::DryRun(
    RetentionIndex& index, TimePoint now, const std::optional<std::int64_t>& facility_id,
    int limit) {
  ExpirySelection selection;
  selection.now = now;
  selection.facility_id = facility_id;
  selection.limit = limit;
  return index.SelectDue(selection);
}

// A pending deletion still due: its files go aside, then one transaction
// deletes the rows. Any failure cancels the deletion (its files go back in
// Settle); if even that fails, it stays pending and the next run finishes it.
void ExpiryService::MoveAsideAndCommit(std::int64_t deletion_id,
                                       RetentionIndex::DeletionLock& lock,
                                       const std::vector<std::string>& paths,
                                       Settled& settled) {
  try {
    SetAsideDeletionFiles(files_, deletion_id, paths);
    Failpoint("expiry-after-quarantine");
    const DeletionCommit commit = lock.Commit(Now());
    if (commit.deleted) {
      settled.study.instances = commit.instances;
      settled.study.bytes = commit.bytes;
      settled.study.instances_kept = commit.instances_kept;
      Failpoint("expiry-after-commit");
    } else {
      settled.message = commit.cancel_note;
    }
  } catch (const Error& error) {
    Log(LogLevel::kError, "expiry deletion {} of study {}: {}; undoing", deletion_id,
        settled.study.study_instance_uid, error.what());
    lock.Cancel(error.what());
    settled.state = Settled::State::kFailed;
    settled.message = error.what();
  }
}

ExpiryService::Settled ExpiryService::Settle(std::int64_t deletion_id) {
  Settled settled;
  const auto lock = index_.Lock(deletion_id);
  if (!lock) {
    settled.state = Settled::State::kBusy;  // another node or process is on it
    return settled;
  }
  auto deletion = lock->Load();
  if (!deletion) return settled;
  settled.study_id = deletion->study_id;
  settled.study.study_instance_uid = deletion->study_instance_uid;
  settled.study.action = AuditAction(deletion->cause);
  settled.study.reason = deletion->reason;
  std::vector<std::string> paths;
  paths.reserve(deletion->files.size());
  for (const auto& file : deletion->files) paths.push_back(file.relative_path);

  if (deletion->state == "pending") {
    // Not due any more (a hold, a new expiry date, a contract): no file moves.
    if (const auto why_not = lock->WhyNotDue(Now())) {
      lock->Cancel(*why_not);
      settled.message = *why_not;
    } else {
      MoveAsideAndCommit(deletion_id, *lock, paths, settled);
    }
    deletion = lock->Load();
    if (!deletion) return settled;
  }

  if (deletion->state == "deleted") {
    DropDeletionFiles(files_, deletion_id, paths);
    lock->Finish();
    if (settled.state != Settled::State::kFailed) settled.state = Settled::State::kDeleted;
  } else if (deletion->state == "cancelled") {
    PutBackDeletionFiles(files_, deletion_id, lock->FilesToRestore());
    lock->Finish();
    if (settled.state != Settled::State::kFailed) settled.state = Settled::State::kCancelled;
  }
  return settled;
}

void ExpiryService::Record(const Settled& settled, ExpiryReport& report, Excluded& excluded) {
  switch (settled.state) {
    case Settled::State::kDeleted:
      Log(LogLevel::kInfo, "expiry: {} of study {} ({}): {} instance(s), {} bytes{}",
          settled.study.action, settled.study.study_instance_uid, settled.study.reason,
          settled.study.instances, settled.study.bytes,
          settled.study.instances_kept > 0
              ? fmt::format("; {} instance(s) received meanwhile kept",
                            settled.study.instances_kept)
              : "");
      report.deleted.push_back(settled.study);
      report.instances += settled.study.instances;
      report.bytes += settled.study.bytes;
      if (settled.study.instances_kept > 0) excluded.push_back(settled.study_id);
      break;
    case Settled::State::kCancelled:
      Log(LogLevel::kInfo, "expiry: study {} kept: {}", settled.study.study_instance_uid,
          settled.message);
      ++report.cancelled;
      excluded.push_back(settled.study_id);
      break;
    case Settled::State::kFailed:
      report.failures.push_back(
          fmt::format("study {}: {}", settled.study.study_instance_uid, settled.message));
      excluded.push_back(settled.study_id);
      break;
    case Settled::State::kBusy:
      excluded.push_back(settled.study_id);
      break;
    case Settled::State::kGone:
      break;
  }
}

// A deletion whose undo failed too stays pending for the next run.
ExpiryService::Settled ExpiryService::SettleOrLeave(std::int64_t deletion_id,
                                                    std::int64_t study_id,
                                                    const std::string& study_uid) {
  try {
    return Settle(deletion_id);
  } catch (const Error& error) {
    Log(LogLevel::kError, "expiry deletion {}: {}; left for the next run", deletion_id,
        error.what());
    Settled failed;
    failed.state = Settled::State::kFailed;
    failed.study_id = study_id;
    failed.study.study_instance_uid =
        study_uid.empty() ? fmt::format("of deletion {}", deletion_id) : study_uid;
    failed.message = error.what();
    return failed;
  }
}

// Leftovers of interrupted runs (any node's).
void ExpiryService::SettleLeftovers(const ExpiryRunOptions& options, ExpiryReport& report,
                                    Excluded& excluded) {
  for (const auto deletion_id : index_.Unsettled(options.facility_id)) {
    const Settled settled = SettleOrLeave(deletion_id, 0, "");
    if (settled.state != Settled::State::kBusy && settled.state != Settled::State::kGone) {
      ++report.leftovers_settled;
    }
    Record(settled, report, excluded);
  }
}

// Selects, claims and deletes one batch of due studies; false when none
// was due.
bool ExpiryService::DeleteNextBatch(const ExpiryRunOptions& options, ExpiryReport& report,
                                    Excluded& excluded) {
  const int batch_size = std::max(1, options.batch_size);
  ExpirySelection selection;
  selection.now = Now();
  selection.facility_id = options.facility_id;
  selection.limit = batch_size;
  if (options.limit) {
    selection.limit =
        std::min(batch_size, *options.limit - static_cast<int>(report.deleted.size()));
  }
  selection.excluded_study_ids = excluded;
  const auto candidates = index_.SelectDue(selection);
  if (candidates.empty()) return false;
  for (const auto& candidate : candidates) {
    const auto deletion_id =
        index_.Claim(candidate, ExpiryReason(candidate.facts), options.actor);
    if (!deletion_id) {  // gone, held or claimed meanwhile
      excluded.push_back(candidate.study_id);
      continue;
    }
    Failpoint("expiry-after-claim");
    Settled settled =
        SettleOrLeave(*deletion_id, candidate.study_id, candidate.study_instance_uid);
    settled.study_id = candidate.study_id;
    Record(settled, report, excluded);
  }
  return true;
}

ExpiryReport ExpiryService::Run(const ExpiryRunOptions& options) {
  ExpiryReport report;
  Excluded excluded;
  CheckStorageRoot();
  SettleLeftovers(options, report, excluded);
  while (!options.limit || static_cast<int>(report.deleted.size()) < *options.limit) {
    CheckStorageRoot();
    if (!DeleteNextBatch(options, report, excluded)) break;
  }
  return report;
}

}  // namespace hokan::archive
