#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmnet/dimse.h"

#include "archive/model/find_request.h"
#include "archive/model/retrieve_request.h"
#include "archive/retrieve/retrieve_service.h"
#include "dicom/dicom_sender.h"

namespace hokan::scp {

class ArchiveScp;
class RecordOnce;

// The unique keys of a parsed C-MOVE / C-GET identifier as a retrieve
// request (PS3.4 C.4.2.1.4). Returns "" or why it is refused (a wildcard in
// a unique key). Pure.
std::string RetrieveRequestOf(const archive::FindRequest& parsed,
                              archive::InformationModel model, const std::string& operation,
                              archive::RetrieveRequest* request);

// Sub-operation counts of one C-MOVE or C-GET.
struct RetrieveProgress {
  int completed = 0;
  int failed = 0;
  int warnings = 0;
  std::size_t remaining = 0;
  std::vector<std::string> failed_uids;
};

// How the sub-operations of one C-MOVE (a new association) or C-GET (this
// one) are sent.
class SubOperationSender {
 public:
  virtual ~SubOperationSender() = default;
  // Before the first: returns "" or why nothing can be sent.
  virtual std::string Open(const archive::RetrievalPlan& plan) = 0;
  virtual dicom::SendResult Send(const archive::Delivery& delivery) = 0;
};

// One C-MOVE or C-GET response: pending or final.
using RetrieveResponder = std::function<OFCondition(
    std::uint16_t status, DcmDataset* response, DcmDataset* detail, const RetrieveProgress&)>;

// What C-MOVE and C-GET share: refuses with 0x0124 when the caller may not
// retrieve, asks the retrieve service for the plan (scope, purpose range,
// forms), reads ahead, sends each delivery through the sender, honours
// C-CANCEL, answers pending after each and then the final status with the
// Failed SOP Instance UID List, and has the retrieval recorded (fee events
// and its audit row) once, whichever way it ends: what was delivered before
// a cancel or a requestor that went away is charged too.
class RetrieveHandler {
 public:
  // `operation` names it in the log and the audit row.
  RetrieveHandler(ArchiveScp& scp, std::string operation, T_ASC_PresentationContextID context_id,
                  Uint16 message_id, RetrieveResponder respond);

  OFCondition Run(DcmDataset& identifier, archive::InformationModel model,
                  SubOperationSender& sender);

 private:
  OFCondition SendAll(const archive::RetrievalPlan& plan, SubOperationSender& sender,
                      RecordOnce& recorder);
  OFCondition Finish(std::uint16_t status, const std::string& comment);

  ArchiveScp& scp_;
  std::string operation_;
  T_ASC_PresentationContextID context_id_;
  Uint16 message_id_;
  RetrieveResponder respond_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  RetrieveProgress progress_;
  const char* level_ = "?";
  std::size_t matches_ = 0;
};

// Uint16 counts for responses: larger values are capped.
Uint16 ResponseCount(std::size_t value);

}  // namespace hokan::scp
