#include "archive/retention/expiry_job.h"

#include <atomic>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "archive/common/log.h"
#include "archive/index/job_queue.h"
#include "archive/jobs/job_runner.h"
#include "archive/retention/expiry_reason.h"
#include "archive/retention/expiry_service.h"

namespace hokan::archive {

std::function<void()> RegisterExpiryJobs(JobRunner& runner, JobQueue& queue,
                                         ExpiryService& service,
                                         const ExpiryJobSettings& settings) {
  // The last bucket this node enqueued: saves a round trip per poll.
  auto last_bucket = std::make_shared<std::optional<TimePoint>>();
  auto requested = std::make_shared<std::atomic<bool>>(false);
  auto last_request = std::make_shared<std::optional<TimePoint>>();
  runner.Schedule("expiry", [&queue, settings, last_bucket, requested, last_request] {
    const TimePoint now = Now();
    if (requested->load() &&
        (!*last_request || now - **last_request >= std::chrono::seconds(5) ||
         now < **last_request)) {
      requested->store(false);
      queue.Enqueue("expire", R"({"requested": true})", now,
                    "expire:requested:" + FormatUtc(now));
      *last_request = now;
    }
    const TimePoint bucket = ExpiryBucketStart(now, settings.interval);
    if (*last_bucket == bucket) return;
    const std::string key = ExpiryJobDedupeKey(bucket);
    if (queue.Enqueue("expire", fmt::format(R"({{"bucket": "{}"}})", FormatUtc(bucket)), bucket,
                      key)) {
      Log(LogLevel::kDebug, "expiry: scheduled {}", key);
    }
    *last_bucket = bucket;
  });
  runner.Handle("expire", [&service, settings](const Job& job) {
    ExpiryRunOptions options;
    options.batch_size = settings.batch_size;
    options.actor = settings.actor;
    const ExpiryReport report = service.Run(options);
    if (!report.deleted.empty() || report.leftovers_settled > 0 || !report.failures.empty()) {
      Log(LogLevel::kInfo,
          "expiry job {}: {} studies deleted ({} instances, {} bytes), {} kept, {} leftover(s) "
          "settled, {} failed",
          job.id, report.deleted.size(), report.instances, report.bytes, report.cancelled,
          report.leftovers_settled, report.failures.size());
    }
    JobResult result;
    if (!report.failures.empty()) {
      result.done = false;
      result.retry_after = std::chrono::seconds(300);
      result.note = fmt::format("{} studies failed; first: {}", report.failures.size(),
                                report.failures.front());
    }
    return result;
  });
  return [requested] { requested->store(true); };
}

}  // namespace hokan::archive
