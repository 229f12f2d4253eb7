#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace hokan::archive {

class ExpiryService;
class JobQueue;
class JobRunner;

struct ExpiryJobSettings {
  std::chrono::seconds interval{3600};  // [archive] expiry_interval_seconds
  int batch_size = 100;                 // [archive] expiry_batch_size
  std::string actor;                    // "hokan-archive@<node>"
};

// Registers the expiry worker of a node on `runner` (before its Start()):
// a scheduler that enqueues one "expire" job per interval bucket (dedupe
// key "expire:<bucket start UTC>", so any number of nodes enqueue it once;
// buckets count from the epoch at hokan::Now()), and the handler that runs
// ExpiryService::Run until nothing is due. A run with failed studies ends
// as a retry (jobs.last_error names the first failure). `queue` and
// `service` must outlive the runner.
// Returns a function that asks for an extra run at the next poll (e.g. when
// ingest finds a facility over its recycling quota): thread-safe and cheap;
// requests are enqueued at most once per 5 seconds per node, as jobs keyed
// "expire:requested:<UTC second>".
std::function<void()> RegisterExpiryJobs(JobRunner& runner, JobQueue& queue, ExpiryService& service,
                        const ExpiryJobSettings& settings);

}  // namespace hokan::archive
