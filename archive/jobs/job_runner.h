#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "archive/index/job_queue.h"

namespace hokan::archive {

// The background worker of one hokan-archive node: one thread that, every
// poll interval (or when woken), runs each registered scheduler (which
// enqueues what is due, idempotently by dedupe key) and then the runnable
// jobs of the registered kinds, one at a time, until none is left.
// Register everything before Start(). Errors are logged, never fatal: the
// job stays pending and the next poll tries again.
class JobRunner {
 public:
  JobRunner(JobQueue& queue, std::chrono::milliseconds poll_interval);
  ~JobRunner();  // stops

  void Handle(std::string kind, std::function<JobResult(const Job&)> handler);
  void Schedule(std::string name, std::function<void()> scheduler);

  void Start();
  void Stop();  // waits for the running job to finish
  void Wake();  // poll now

 private:
  void Loop();
  void PollOnce();

  JobQueue& queue_;
  std::chrono::milliseconds poll_interval_;
  std::vector<std::pair<std::string, std::function<JobResult(const Job&)>>> handlers_;
  std::vector<std::pair<std::string, std::function<void()>>> schedulers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace hokan::archive
