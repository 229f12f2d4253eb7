#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <filesystem>
#include <string>

#include "dcmtk/dcmnet/dimse.h"

#include "archive/ingest/ingest_service.h"

namespace hokan::scp {

class ArchiveScp;

// C-STORE: asks the ingest service whether the caller may store the
// request's SOP class and how many bytes it may send (AdmitStore), receives
// the data set bit-preserving into the file store's incoming folder within
// that bound (ArchiveScp::ReceiveBound: nothing over it is kept), reads its
// header and hands it to the ingest service, which decides (storage
// conditions, quota) and answers with a typed outcome; the response
// carries its status (scp/status_mapping.h) and, on failure, an Error
// Comment. The incoming file is consumed on every path. The edge decides
// nothing itself: a refused or oversized object gets the core's answer.
class StoreHandler {
 public:
  explicit StoreHandler(ArchiveScp& scp) : scp_(scp) {}
  OFCondition Handle(T_DIMSE_C_StoreRQ& request, T_ASC_PresentationContextID context_id);

 private:
  // The ingest outcome of a received file (rights, header, gate, ingest).
  archive::IngestResult Ingest(const T_DIMSE_C_StoreRQ& request,
                               const std::filesystem::path& incoming,
                               archive::IngestService::StoreExpectation* expectation);
  // Counts and logs `result` and sends its response.
  OFCondition Answer(T_ASC_PresentationContextID context_id, const T_DIMSE_C_StoreRQ& request,
                     const archive::IngestResult& result);
  // Removes an incoming file that will not be ingested; a failure is logged.
  void DiscardIncoming(const std::filesystem::path& incoming);

  ArchiveScp& scp_;
};

}  // namespace hokan::scp
