#include "archive/ingest/group_committer.h"

#include <fmt/format.h>

#include <chrono>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::archive {
namespace {
constexpr std::size_t kMaxBatch = 128;
}  // namespace

GroupCommitter::GroupCommitter(FileStore& files, InstanceIndex& index)
    : files_(files), index_(index), thread_([this] { Loop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

IndexOutcome GroupCommitter::Commit(const NewInstanceRow& row) {
  std::future<IndexOutcome> outcome;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw Error(ErrorCode::kDatabase, "the archive is shutting down");
    queue_.push_back(Pending{&row, {}});
    outcome = queue_.back().outcome.get_future();
  }
  queued_.notify_one();
  return outcome.get();
}

void GroupCommitter::Loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is answered
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const auto started = std::chrono::steady_clock::now();
    try {
      files_.SyncAll();
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
      for (auto& pending : batch) pending.outcome.set_exception(std::make_exception_ptr(error));
      continue;
    }
    const auto synced = std::chrono::steady_clock::now();
    const std::size_t size = batch.size();
    CommitBatch(batch);
    const auto committed = std::chrono::steady_clock::now();
    Log(LogLevel::kDebug, "group commit of {} instance(s): flush {} us, index {} us", size,
        std::chrono::duration_cast<std::chrono::microseconds>(synced - started).count(),
        std::chrono::duration_cast<std::chrono::microseconds>(committed - synced).count());
  }
}

void GroupCommitter::CommitBatch(std::vector<Pending>& batch) {
  std::vector<const NewInstanceRow*> rows;
  rows.reserve(batch.size());
  for (const auto& pending : batch) rows.push_back(pending.row);
  try {
    const std::vector<IndexOutcome> outcomes = index_.InsertBatch(rows);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].outcome.set_value(outcomes[i]);
    return;
  } catch (const Error& error) {
    if (batch.size() == 1 || error.code() == ErrorCode::kCommitInDoubt) {
      for (auto& pending : batch) pending.outcome.set_exception(std::make_exception_ptr(error));
      return;
    }
    Log(LogLevel::kWarn, "a batch of {} instances failed ({}); committing them one by one",
        batch.size(), error.what());
  }
  for (auto& pending : batch) {
    std::vector<Pending> single;
    single.push_back(std::move(pending));
    CommitBatch(single);
  }
}

}  // namespace hokan::archive
