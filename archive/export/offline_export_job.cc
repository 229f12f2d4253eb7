#include "archive/export/offline_export_job.h"

#include <fmt/format.h>

#include <memory>
#include <set>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/export/export_schedule.h"
#include "archive/export/offline_export_service.h"
#include "archive/index/export_index.h"
#include "archive/index/job_queue.h"
#include "archive/jobs/job_runner.h"

namespace hokan::archive {

void RegisterOfflineExportJobs(JobRunner& runner, JobQueue& queue, ExportIndex& index,
                               OfflineExportService& service, const std::string& node) {
  // Dedupe keys this node already enqueued (or found enqueued): saves an
  // INSERT per deluxe facility per poll. Only the scheduler thread uses it.
  auto enqueued = std::make_shared<std::set<std::string>>();
  runner.Schedule(kOfflineExportJobKind, [&queue, &index, enqueued] {
    const TimePoint now = Now();
    for (const auto& facility : index.DeluxeFacilities(now)) {
      std::optional<DueExport> due;
      try {
        due = DueExportFor(facility.facility_id, facility.export_at, now);
      } catch (const Error& error) {
        Log(LogLevel::kError, "offline export of {}: {}", facility.name, error.what());
        continue;
      }
      if (!due || enqueued->count(due->dedupe_key)) continue;
      if (queue.Enqueue(kOfflineExportJobKind, ExportPayload({facility.facility_id, due->cut_off}),
                        now, due->dedupe_key)) {
        Log(LogLevel::kInfo, "offline export of {} scheduled (cut-off {})", facility.name,
            FormatUtc(due->cut_off));
      }
      enqueued->insert(due->dedupe_key);
    }
  });
  const ExportRunSettings settings{"hokan-archive@" + node, node};
  runner.Handle(kOfflineExportJobKind, [&service, settings](const Job& job) {
    JobResult result;
    result.retry_after = std::chrono::seconds(300);
    ExportRequest request;
    try {
      request = ParseExportPayload(job.payload);
    } catch (const Error& error) {
      Log(LogLevel::kError, "offline export job {}: {}; dropped", job.id, error.what());
      return result;
    }
    try {
      const ExportOutcome outcome = service.Run(request.facility_id, request.cut_off, settings);
      switch (outcome.kind) {
        case ExportOutcome::Kind::kWritten:
          Log(LogLevel::kInfo,
              "offline export job {}: wrote {} ({} studies, {} instances, {} bytes, {} refused)",
              job.id, outcome.record->folder, outcome.record->studies, outcome.record->instances,
              outcome.record->bytes, outcome.record->refused_instances);
          break;
        case ExportOutcome::Kind::kAlreadyRecorded:
          Log(LogLevel::kInfo, "offline export job {}: already recorded as {}", job.id,
              outcome.record->folder);
          break;
        case ExportOutcome::Kind::kNothingNew:
          Log(LogLevel::kInfo,
              "offline export job {}: facility {} received no study up to {} since the last "
              "export; nothing written",
              job.id, request.facility_id, FormatUtc(request.cut_off));
          break;
      }
    } catch (const Error& error) {
      if (error.code() != ErrorCode::kInvalidInput) throw;  // a retry, counted
      Log(LogLevel::kWarn, "offline export job {}: {}; not exported", job.id, error.what());
    }
    return result;
  });
}

}  // namespace hokan::archive
