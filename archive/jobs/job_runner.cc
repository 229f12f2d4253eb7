#include "archive/jobs/job_runner.h"

#include "archive/common/log.h"

namespace hokan::archive {

JobRunner::JobRunner(JobQueue& queue, std::chrono::milliseconds poll_interval)
    : queue_(queue), poll_interval_(poll_interval) {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Handle(std::string kind, std::function<JobResult(const Job&)> handler) {
  auto lane = std::make_unique<Lane>();
  lane->kind = std::move(kind);
  lane->handler = std::move(handler);
  lanes_.push_back(std::move(lane));
}

void JobRunner::Schedule(std::string name, std::function<void()> scheduler) {
  schedulers_.emplace_back(std::move(name), std::move(scheduler));
}

void JobRunner::Start() {
  if (lanes_.empty() && schedulers_.empty()) return;
  scheduler_thread_ = std::thread([this] { ScheduleLoop(); });
  for (auto& lane : lanes_) {
    const Lane& running = *lane;
    lane->thread = std::thread([this, &running] { LaneLoop(running); });
  }
}

void JobRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void JobRunner::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

bool JobRunner::Stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

bool JobRunner::WaitForRound(std::uint64_t& seen, bool advance) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (advance) {
    wake_.wait_for(lock, poll_interval_, [this] { return stopping_ || woken_; });
    woken_ = false;
  } else {
    // A lane also polls on its own every interval, so a due job (run_after
    // reached) never waits for a scheduler.
    wake_.wait_for(lock, poll_interval_, [this, &seen] { return stopping_ || round_ != seen; });
    seen = round_;
  }
  return !stopping_;
}

void JobRunner::ScheduleLoop() {
  std::uint64_t unused = 0;
  do {
    RunSchedulers();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++round_;  // what the schedulers enqueued is for the lanes now
    }
    wake_.notify_all();
  } while (WaitForRound(unused, /*advance=*/true));
}

void JobRunner::LaneLoop(const Lane& lane) {
  std::uint64_t seen = 0;
  do {
    RunJobs(lane);
  } while (WaitForRound(seen, /*advance=*/false));
}

void JobRunner::RunSchedulers() {
  for (const auto& [name, scheduler] : schedulers_) {
    try {
      scheduler();
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "scheduler {}: {}", name, error.what());
    }
  }
}

void JobRunner::RunJobs(const Lane& lane) {
  try {
    while (queue_.RunOne({lane.kind}, lane.handler)) {
      if (Stopping()) return;
    }
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "{} jobs: {}", lane.kind, error.what());
  }
}

}  // namespace hokan::archive
