#pragma once

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "archive/storage/file_store.h"

namespace hokan::archive {

// Runs FileStore::SyncAll on one long-lived thread for the commit threads.
// Request() returns a future that becomes ready (or holds the flush's
// error) once a SyncAll that *started after the call* has finished, so
// everything written before the call is durable. Requests made while no
// flush has started yet share the next one. Thread-safe.
class FileSyncWorker {
 public:
  // `files` must outlive the worker.
  explicit FileSyncWorker(FileStore& files);
  ~FileSyncWorker();  // finishes a requested flush, then stops
  FileSyncWorker(const FileSyncWorker&) = delete;
  FileSyncWorker& operator=(const FileSyncWorker&) = delete;

  std::shared_future<void> Request();

 private:
  void Loop();

  FileStore& files_;
  std::mutex mutex_;
  std::condition_variable requested_;
  bool pending_ = false;  // a request waits for the next flush
  bool stopping_ = false;
  std::promise<void> next_;
  std::shared_future<void> next_done_;
  std::thread thread_;
};

}  // namespace hokan::archive
