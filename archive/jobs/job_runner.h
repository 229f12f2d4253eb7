#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "archive/index/job_queue.h"

namespace hokan::archive {

// The background worker of one hokan-archive node, in lanes: one thread
// runs the registered schedulers (each enqueues what is due, idempotently
// by dedupe key) every poll interval or when woken, and each registered job
// kind has its own lane, a thread that runs that kind's runnable jobs one
// at a time until none is left, then waits for the next poll. A slow job
// (a commitment report to an unreachable peer, a long export) holds up only
// its own kind: expiry, exports and usage samples go on. Register
// everything before Start(). Errors are logged, never fatal: the job stays
// pending and the next poll tries again. Each lane holds one database
// connection while its job runs (JobQueue::RunOne).
class JobRunner {
 public:
  JobRunner(JobQueue& queue, std::chrono::milliseconds poll_interval);
  ~JobRunner();  // stops

  void Handle(std::string kind, std::function<JobResult(const Job&)> handler);
  void Schedule(std::string name, std::function<void()> scheduler);

  void Start();
  void Stop();  // waits for the running jobs to finish
  void Wake();  // poll now (schedulers, then every lane)

 private:
  struct Lane {
    std::string kind;
    std::function<JobResult(const Job&)> handler;
    std::thread thread;
  };

  void ScheduleLoop();
  void LaneLoop(const Lane& lane);
  void RunSchedulers();
  void RunJobs(const Lane& lane);
  // Waits until the next poll round (a newer round than `seen`), a wake-up
  // or Stop(); false when stopping. The schedulers' loop (`advance`)
  // starts the rounds every lane waits for.
  bool WaitForRound(std::uint64_t& seen, bool advance);
  bool Stopping();

  JobQueue& queue_;
  std::chrono::milliseconds poll_interval_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<std::pair<std::string, std::function<void()>>> schedulers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::uint64_t round_ = 0;  // poll rounds begun by the schedulers' loop
  std::thread scheduler_thread_;
};

}  // namespace hokan::archive
