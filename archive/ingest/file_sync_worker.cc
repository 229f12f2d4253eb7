#include "archive/ingest/file_sync_worker.h"

#include <exception>
#include <utility>

#include "archive/common/failpoint.h"

namespace hokan::archive {

FileSyncWorker::FileSyncWorker(FileStore& files)
    : files_(files), next_done_(next_.get_future().share()), thread_([this] { Loop(); }) {}

FileSyncWorker::~FileSyncWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  requested_.notify_all();
  thread_.join();
}

std::shared_future<void> FileSyncWorker::Request() {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ = true;
  requested_.notify_one();
  return next_done_;
}

void FileSyncWorker::Loop() {
  for (;;) {
    std::promise<void> done;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      requested_.wait(lock, [this] { return stopping_ || pending_; });
      if (!pending_) return;  // stopping, nothing requested
      // Requests from now on wait for the flush after this one.
      pending_ = false;
      done = std::exchange(next_, std::promise<void>());
      next_done_ = next_.get_future().share();
    }
    try {
      Failpoint("ingest-during-flush");
      files_.SyncAll();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  }
}

}  // namespace hokan::archive
