#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "archive/index/instance_index.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// Makes placed files and their index rows durable together, in batches:
// all Commit() calls waiting at the same time share one file-system flush
// and one database transaction, so concurrent associations share fsyncs.
// Two threads form a pipeline: one flushes files, the other commits the
// rows of flushed files, so a committed row never names bytes that could
// be lost, and the next flush overlaps the previous commit. A batch whose
// transaction fails is retried one row per transaction, so one bad row
// never fails its neighbours. Thread-safe.
class GroupCommitter {
 public:
  // Starts the commit thread. `files` and `index` must outlive it.
  GroupCommitter(FileStore& files, InstanceIndex& index);
  ~GroupCommitter();  // finishes what is queued, then stops
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Blocks until the row's file is flushed and the row committed (or found
  // to exist). REQUIRES: the row's file is placed. Throws hokan::Error
  // (kStorage, kDatabase or kCommitInDoubt) when that failed.
  IndexOutcome Commit(const NewInstanceRow& row);

 private:
  struct Pending {
    const NewInstanceRow* row;
    std::promise<IndexOutcome> outcome;
  };

  void FlushLoop();
  void IndexLoop();
  void CommitBatch(std::vector<Pending>& batch);

  FileStore& files_;
  InstanceIndex& index_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> unflushed_;
  std::deque<Pending> flushed_;
  bool stopping_ = false;
  bool flusher_done_ = false;
  std::thread flusher_;
  std::thread indexer_;
};

}  // namespace hokan::archive
