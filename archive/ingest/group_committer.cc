#include "archive/ingest/group_committer.h"

#include <fmt/format.h>

#include <chrono>
#include <future>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::archive {
namespace {

constexpr std::size_t kMaxBatch = 128;
// Batches in progress at once.
constexpr int kCommitThreads = 2;
// How long a batch waits for announced stores before it is committed.
constexpr std::chrono::microseconds kMaxWaitForExpected{2000};
// How often the facility usage deltas are folded: every this many batches.
constexpr unsigned kBatchesPerFold = 64;

long long MicrosecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GroupCommitter::GroupCommitter(FileStore& files, InstanceIndex& index)
    : index_(index), sync_worker_(files) {
  for (int i = 0; i < kCommitThreads; ++i) committers_.emplace_back([this] { CommitLoop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& committer : committers_) committer.join();
}

GroupCommitter::Expectation::Expectation(GroupCommitter& committer) : committer_(committer) {
  std::lock_guard<std::mutex> lock(committer_.mutex_);
  ++committer_.expected_;
}

GroupCommitter::Expectation::~Expectation() {
  {
    std::lock_guard<std::mutex> lock(committer_.mutex_);
    if (!pending_) return;
    pending_ = false;
    --committer_.expected_;
  }
  committer_.changed_.notify_all();
}

IndexOutcome GroupCommitter::Commit(const NewInstanceRow& row, Expectation* expectation) {
  std::future<IndexOutcome> outcome;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (expectation && expectation->pending_) {
      expectation->pending_ = false;
      --expected_;
    }
    if (stopping_) throw Error(ErrorCode::kDatabase, "the archive is shutting down");
    queue_.push_back(Pending{&row, {}});
    outcome = queue_.back().outcome.get_future();
  }
  changed_.notify_all();
  return outcome.get();
}

void GroupCommitter::CommitLoop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is answered
      changed_.wait_for(lock, kMaxWaitForExpected, [this] {
        return stopping_ || expected_ == 0 || queue_.size() >= kMaxBatch;
      });
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // Nothing escapes the commit thread: a failure no step expected still
    // answers every waiting store (in doubt: the rows may exist) and the
    // thread goes on with the next batch.
    try {
      CommitBatch(batch);
    } catch (const std::exception& failure) {
      Log(LogLevel::kError, "group commit of {} instance(s) failed unexpectedly: {}",
          batch.size(), failure.what());
      const auto in_doubt = std::make_exception_ptr(Error(
          ErrorCode::kCommitInDoubt,
          fmt::format("group commit failed unexpectedly: {}", failure.what())));
      for (auto& pending : batch) {
        try {
          pending.outcome.set_exception(in_doubt);
        } catch (const std::future_error&) {
          // answered before the failure
        }
      }
    }
    if (++batches_since_fold_ % kBatchesPerFold == 0) FoldUsageDeltas();
  }
}

void GroupCommitter::CommitBatch(std::vector<Pending>& batch) {
  const auto started = std::chrono::steady_clock::now();
  // The files of this batch (and anything written before) are flushed
  // before any row is committed: a committed row is what another store of
  // the same instance (on this node or another) takes for "already stored",
  // so it must never name bytes that are not yet durable.
  try {
    sync_worker_.Request().get();
  } catch (const std::exception& failure) {
    Log(LogLevel::kError, "{}", failure.what());
    // No row was written: the stores fail, and their placed files go.
    const auto flush_error = std::make_exception_ptr(Error(
        ErrorCode::kStorage,
        fmt::format("{}; nothing was indexed, store again later", failure.what())));
    for (auto& pending : batch) pending.outcome.set_exception(flush_error);
    return;
  }
  const long long flush_us = MicrosecondsSince(started);
  std::vector<const NewInstanceRow*> rows;
  for (const auto& pending : batch) rows.push_back(pending.row);
  std::vector<IndexOutcome> outcomes(batch.size(), IndexOutcome::kInserted);
  std::vector<std::exception_ptr> errors(batch.size());
  IndexBatch(rows, outcomes, errors);
  Log(LogLevel::kDebug, "group commit of {} instance(s): flush {} us, flush and index {} us",
      batch.size(), flush_us, MicrosecondsSince(started));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (errors[i]) batch[i].outcome.set_exception(errors[i]);
    else batch[i].outcome.set_value(outcomes[i]);
  }
}

void GroupCommitter::FoldUsageDeltas() {
  try {
    index_.FoldUsageDeltas();
  } catch (const std::exception& error) {
    // Nothing is lost: the deltas stay, facility_usage still counts them,
    // and the next fold takes them.
    Log(LogLevel::kWarn, "folding the facility usage deltas: {}", error.what());
  }
}

void GroupCommitter::IndexBatch(const std::vector<const NewInstanceRow*>& rows,
                                std::vector<IndexOutcome>& outcomes,
                                std::vector<std::exception_ptr>& errors) {
  try {
    outcomes = index_.InsertBatch(rows);
    return;
  } catch (const Error& error) {
    if (rows.size() == 1 || error.code() == ErrorCode::kCommitInDoubt) {
      for (auto& slot : errors) slot = std::make_exception_ptr(error);
      return;
    }
    Log(LogLevel::kWarn, "a batch of {} instances failed ({}); committing them one by one",
        rows.size(), error.what());
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    try {
      outcomes[i] = index_.InsertBatch({rows[i]}).front();
    } catch (const Error& error) {
      errors[i] = std::make_exception_ptr(error);
    }
  }
}

}  // namespace hokan::archive
