#pragma once

#include <string>

namespace hokan::archive {

class ExportIndex;
class JobQueue;
class JobRunner;
class OfflineExportService;

// Registers the deluxe offline export on `runner` (before its Start()):
// a scheduler that, at every poll, enqueues for each facility whose
// current contract is deluxe the day's "offline-export" job once Now() is
// kExportSettleTime past that day's export_at (payload ExportPayload,
// dedupe key "offline-export:<facility id>:<UTC date>", so every node
// enqueues it once), and the handler that runs OfflineExportService::Run
// for the job's facility and cut-off. A facility no longer deluxe ends the
// job (done, with a log line); file or database trouble retries it in 5
// minutes. All arguments must outlive the runner.
void RegisterOfflineExportJobs(JobRunner& runner, JobQueue& queue, ExportIndex& index,
                               OfflineExportService& service, const std::string& node);

}  // namespace hokan::archive
