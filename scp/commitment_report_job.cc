#include "scp/commitment_report_job.h"

#include <fmt/format.h>

namespace hokan::scp {

archive::JobResult RunCommitmentReportJob(const archive::Job& job,
                                          archive::CommitmentService& service,
                                          const dicom::ReportSenderSettings& settings) {
  const std::int64_t request_id = archive::CommitmentService::RequestIdOf(job);
  const auto state = service.StateOf(request_id);
  if (!state || *state != "pending") {
    // Reported on the requester's association meanwhile, or removed.
    return archive::JobResult{};
  }
  const archive::CommitmentReport report = service.Check(request_id);
  const auto address = service.AddressOf(report);
  std::string error;
  if (!address) {
    error = fmt::format("no address known for AE {} any more", report.requester_ae);
  } else {
    error = dicom::SendReportOnNewAssociation(settings, *address, report);
  }
  if (error.empty()) {
    service.RecordNewAssociation(report, *address);
    dicom::LogCommitmentReport(report, fmt::format("reported on a new association to {}@{}:{}",
                                            address->ae_title, address->host, address->port));
    return archive::JobResult{};
  }
  const bool last_attempt = job.attempts >= job.max_attempts;
  service.RecordFailedAttempt(request_id, error, last_attempt);
  archive::JobResult result;
  result.done = false;
  result.retry_after = archive::CommitmentService::RetryDelay(job.attempts);
  result.note = fmt::format("storage commitment report for transaction {} to {}: {}",
                            report.transaction_uid, report.requester_ae, error);
  return result;
}

}  // namespace hokan::scp
