#include "archive/jobs/job_runner.h"

#include "archive/common/log.h"

namespace hokan::archive {

JobRunner::JobRunner(JobQueue& queue, std::chrono::milliseconds poll_interval)
    : queue_(queue), poll_interval_(poll_interval) {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Handle(std::string kind, std::function<JobResult(const Job&)> handler) {
  handlers_.emplace_back(std::move(kind), std::move(handler));
}

void JobRunner::Schedule(std::string name, std::function<void()> scheduler) {
  schedulers_.emplace_back(std::move(name), std::move(scheduler));
}

void JobRunner::Start() {
  if (handlers_.empty() && schedulers_.empty()) return;
  thread_ = std::thread([this] { Loop(); });
}

void JobRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void JobRunner::Loop() {
  while (true) {
    PollOnce();
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, poll_interval_, [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

void JobRunner::PollOnce() {
  for (const auto& [name, scheduler] : schedulers_) {
    try {
      scheduler();
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "scheduler {}: {}", name, error.what());
    }
  }
  for (const auto& [kind, handler] : handlers_) {
    try {
      while (queue_.RunOne({kind}, handler)) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "{} jobs: {}", kind, error.what());
    }
  }
}

}  // namespace hokan::archive
