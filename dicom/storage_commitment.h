#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <memory>
#include <string>

#include "dcmtk/dcmdata/dcdatset.h"

#include "archive/model/commitment_types.h"
#include "dicom/dimse_status.h"

namespace hokan::dicom {

// N-ACTION statuses of the Storage Commitment Push Model SCP (PS3.4 J.3.2,
// general N-ACTION statuses of PS3.7 Annex C).

// At most this many instances per request.
constexpr std::size_t kMaxCommitmentItems = 50000;

// A parsed N-ACTION Action Information: on success `request` holds the
// Transaction UID and the items (facility and requester left for the
// caller); otherwise `status` and an `error` naming the offending attribute.
struct CommitmentRequestParse {
  bool ok = false;
  std::uint16_t status = dicom::status::kInvalidArgumentValue;
  std::string error;
  archive::NewCommitmentRequest request;
};

// Validates the Action Information of Request Storage Commitment (Action
// Type ID 1, PS3.4 J.3.2.1.1): Transaction UID (0008,1195) and a non-empty
// Referenced SOP Sequence (0008,1199) whose items each carry a Referenced
// SOP Class UID (0008,1150) and Referenced SOP Instance UID (0008,1155),
// every UID well-formed (PS3.5 9.1), at most kMaxCommitmentItems items.
CommitmentRequestParse ParseCommitmentRequest(DcmDataset& action_information);

// The N-EVENT-REPORT of a checked request (PS3.4 J.3.3.1): Event Type ID 1
// when every instance is committed, 2 otherwise; Event Information with the
// Transaction UID, Retrieve AE Title `retrieve_ae`, Referenced SOP Sequence
// (committed) and Failed SOP Sequence (with Failure Reason).
struct CommitmentEventReport {
  std::uint16_t event_type_id = 1;
  std::unique_ptr<DcmDataset> event_information;
};
CommitmentEventReport BuildEventReport(const archive::CommitmentReport& report,
                                       const std::string& retrieve_ae);

// Logs the outcome of a delivered report: one warning per failed instance
// (UID, Failure Reason, why) and the line "storage commitment from AE,
// transaction UID: N committed, M failed; <how>".
void LogCommitmentReport(const archive::CommitmentReport& report, const std::string& how);

// How a report is sent on a new association.
struct ReportSenderSettings {
  std::string ae_title;  // our calling AE title
  int acse_timeout_seconds = 30;
  int dimse_timeout_seconds = 60;
  int max_pdu_bytes = 65536;
};

// Opens an association to `address` (proposing the Storage Commitment Push
// Model SOP Class in the SCP role, PS3.4 J.3.3), sends the report, waits for
// the N-EVENT-REPORT-RSP and releases. Returns "" when the peer answered
// success, else what went wrong (refused association, network error, status).
std::string SendReportOnNewAssociation(const ReportSenderSettings& settings,
                                       const archive::ReportAddress& address,
                                       const archive::CommitmentReport& report);

}  // namespace hokan::dicom
