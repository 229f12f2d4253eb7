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
    : files_(files), index_(index), flusher_([this] { FlushLoop(); }),
      indexer_([this] { IndexLoop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  flusher_.join();
  indexer_.join();
}

IndexOutcome GroupCommitter::Commit(const NewInstanceRow& row) {
  std::future<IndexOutcome> outcome;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw Error(ErrorCode::kDatabase, "the archive is shutting down");
    unflushed_.push_back(Pending{&row, {}});
    outcome = unflushed_.back().outcome.get_future();
  }
  changed_.notify_all();
  return outcome.get();
}

void GroupCommitter::FlushLoop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !unflushed_.empty(); });
      if (unflushed_.empty()) {  // stopping, and everything is flushed
        flusher_done_ = true;
        changed_.notify_all();
        return;
      }
      while (!unflushed_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(unflushed_.front()));
        unflushed_.pop_front();
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
    Log(LogLevel::kDebug, "flushed {} instance(s) in {} us", batch.size(),
        std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started).count());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& pending : batch) flushed_.push_back(std::move(pending));
    }
    changed_.notify_all();
  }
}

void GroupCommitter::IndexLoop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return flusher_done_ || !flushed_.empty(); });
      if (flushed_.empty()) return;  // the flusher has stopped and all is committed
      while (!flushed_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(flushed_.front()));
        flushed_.pop_front();
      }
    }
    const auto started = std::chrono::steady_clock::now();
    const std::size_t size = batch.size();
    CommitBatch(batch);
    Log(LogLevel::kDebug, "committed {} index row(s) in {} us", size,
        std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started).count());
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
