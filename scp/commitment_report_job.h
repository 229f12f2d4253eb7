#pragma once

// The "commitment-report" job of hokan-archive: Storage Commitment reports
// that could not go back on the requester's association.

#include "archive/commitment/commitment_service.h"
#include "archive/index/job_queue.h"
#include "dicom/storage_commitment.h"

namespace hokan::scp {

// The "commitment-report" job handler: checks the request's instances now,
// sends the report on a new association and records it. A failed delivery
// is recorded and retried (CommitmentService::RetryDelay); after the job's
// last attempt the request is marked failed. A request already reported
// (on the requester's association) is done without sending again.
archive::JobResult RunCommitmentReportJob(const archive::Job& job,
                                          archive::CommitmentService& service,
                                          const dicom::ReportSenderSettings& settings);

}  // namespace hokan::scp
