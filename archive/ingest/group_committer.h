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
// For each batch, files are flushed first and the rows committed after, so
// a committed row never names bytes that could be lost. A batch whose
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

  void Loop();
  void CommitBatch(std::vector<Pending>& batch);

  FileStore& files_;
  InstanceIndex& index_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hokan::archive
