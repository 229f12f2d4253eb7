#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "archive/index/instance_index.h"
#include "archive/ingest/file_sync_worker.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// Makes placed files and their index rows durable together, in batches:
// all Commit() calls waiting at the same time share one file-system flush
// and one database transaction, so concurrent associations share fsyncs.
// The flush (on one long-lived thread, FileSyncWorker) ends before the
// batch's transaction begins: a committed row is what a second store of the
// instance (here or on another node) answers "already stored" by, so no row
// is visible before its bytes are durable. Commit() returns when both are
// done. Two batches can be in progress at once (two commit threads, two
// connections), so one batch's transaction runs while the next one's flush
// does; PostgreSQL and the file system merge their flushes. Until then the placed file keeps its
// intent record, so after a crash the start-up sweep checks every such file
// against its row (IngestService::RecoverInterruptedStores). A batch whose
// transaction fails is retried one row per transaction, so one bad row
// never fails its neighbours. Thread-safe.
class GroupCommitter {
 public:
  // Starts the commit threads. `files` and `index` must outlive the committer.
  GroupCommitter(FileStore& files, InstanceIndex& index);
  ~GroupCommitter();  // finishes what is queued, then stops
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Announces that a Commit() is on its way (a store is being checked and
  // placed), so a batch being formed waits for it, up to 2 ms, instead of
  // flushing without it. Ends at Commit() or when destroyed, whichever is
  // first. Like PostgreSQL's commit_delay, but only when a store is known
  // to be coming.
  class Expectation {
   public:
    explicit Expectation(GroupCommitter& committer);
    ~Expectation();
    Expectation(const Expectation&) = delete;
    Expectation& operator=(const Expectation&) = delete;

   private:
    friend class GroupCommitter;
    GroupCommitter& committer_;
    bool pending_ = true;
  };

  // Blocks until the row's file is flushed and the row committed (or found
  // to exist). REQUIRES: the row's file is placed. Throws hokan::Error:
  // kStorage when the flush failed (no row written: discard the file),
  // kCommitInDoubt when the COMMIT's outcome is unknown
  // (the row may exist; keep the placed file and its intent record:
  // IngestService settles it), or the
  // InstanceIndex::InsertBatch error when the transaction failed.
  IndexOutcome Commit(const NewInstanceRow& row, Expectation* expectation = nullptr);

 private:
  struct Pending {
    const NewInstanceRow* row;
    std::promise<IndexOutcome> outcome;
  };

  void CommitLoop();
  // Flushes and indexes one batch and answers each of its stores.
  void CommitBatch(std::vector<Pending>& batch);
  // Commits the rows; sets an outcome or an error per row.
  void IndexBatch(const std::vector<const NewInstanceRow*>& rows,
                  std::vector<IndexOutcome>& outcomes,
                  std::vector<std::exception_ptr>& errors);
  // Folds the facility usage deltas (InstanceIndex::FoldUsageDeltas); a
  // failure is logged, and the deltas wait for the next fold.
  void FoldUsageDeltas();

  InstanceIndex& index_;
  FileSyncWorker sync_worker_;
  std::atomic<unsigned> batches_since_fold_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  int expected_ = 0;  // Expectations not yet ended
  std::vector<std::thread> committers_;
};

}  // namespace hokan::archive
