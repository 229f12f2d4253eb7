#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcmtk/dcmnet/scpthrd.h"

#include "archive/commitment/commitment_service.h"
#include "archive/config/config.h"
#include "archive/index/instance_index.h"
#include "archive/index/query_index.h"
#include "archive/ingest/ingest_service.h"
#include "archive/storage/file_store.h"
#include "billing/fee_recorder.h"
#include "billing/purposes.h"
#include "dicom/dimse_responses.h"
#include "dicom/dicom_sender.h"

namespace hokan::scp {

// What one association did, for its log line.
struct AssociationCounts {
  int stored = 0;          // new instances
  int already_stored = 0;  // identical re-stores
  int failed = 0;          // C-STOREs answered with a failure status
  int echoes = 0;
  int queries = 0;         // C-FIND requests
  int moves = 0;           // C-MOVE requests
  int gets = 0;            // C-GET requests
  std::string ending = "not acknowledged (no acceptable presentation context)";
};

// Serves one admitted association: C-ECHO; C-STORE for every standard
// storage SOP class in the transfer syntaxes hokan stores as received (only
// for AEs that may store; others get 0x0124; under a purpose without
// may_store_reports, report classes get 0x0124 too); C-FIND, C-MOVE and
// C-GET in the Patient Root and Study Root models, scoped to the caller's
// facility and the patients shared with it, and, under a purpose, to its
// available range: C-FIND lists only what is in range; C-MOVE and C-GET
// send only instances in range (the others are not sub-operations), larger
// images downscaled and lossy-only copies compressed (dicom/derived_image.h),
// and record one fee event per study delivered (billing::FeeRecorder). C-STORE data sets
// are received bit-preserving into the file store's incoming folder and
// handed to the ingest service; the response carries the ingest status and,
// on failure, an Error Comment. Construct one per association.
// The archive services associations use; all outlive every association.
struct ArchiveServices {
  const archive::ArchiveConfig& config;
  archive::FileStore& files;
  archive::IngestService& ingest;
  archive::QueryIndex& query;
  archive::InstanceIndex& index;
  // Storage Commitment Push Model; nullptr: the SOP class is not offered.
  archive::CommitmentService* commitment = nullptr;
  // Records fee events of retrievals under a purpose; nullptr: none.
  billing::FeeRecorder* fees = nullptr;
};

class ArchiveScp : public DcmThreadSCP {
 public:
  // `association` is the one run() will be given; it is only read here, to
  // negotiate its presentation contexts.
  // What the admitted caller is: its facility, and whether it may store.
  struct CallerScope {
    std::int64_t facility_id = 0;
    bool may_store = false;
    std::string calling_ae;
    // The purpose the association retrieves under; nullopt: none (no
    // range, no fees).
    std::optional<billing::Purpose> purpose;
    // False: C-FIND, C-MOVE and C-GET are refused with 0x0124 (a purpose is
    // bound to the called AE title and the caller is not granted it).
    bool may_retrieve = true;
  };

  ArchiveScp(T_ASC_Association* association, const ArchiveServices& services,
             CallerScope caller);

  const AssociationCounts& counts() const { return counts_; }

 protected:
  // Accepts Verification and every storage SOP class (more than the 128
  // contexts an association profile may hold), preferring the proposed
  // compressed transfer syntax so the sender's file arrives as it is.
  OFCondition negotiateAssociation() override;
  OFCondition handleIncomingCommand(T_DIMSE_Message* incomingMsg,
                                    const DcmPresentationContextInfo& presInfo) override;
  void notifyAssociationAcknowledge() override;
  void notifyReleaseRequest() override;
  void notifyAbortRequest() override;
  void notifyDIMSEError(const OFCondition& cond) override;

 private:
  OFCondition HandleStore(T_DIMSE_C_StoreRQ& request, T_ASC_PresentationContextID context_id);
  OFCondition Respond(T_ASC_PresentationContextID context_id, const T_DIMSE_C_StoreRQ& request,
                      std::uint16_t status, const std::string& error_comment);
  OFCondition HandleFind(T_DIMSE_C_FindRQ& request, T_ASC_PresentationContextID context_id);
  OFCondition HandleMove(T_DIMSE_C_MoveRQ& request, T_ASC_PresentationContextID context_id);
  OFCondition HandleGet(T_DIMSE_C_GetRQ& request, T_ASC_PresentationContextID context_id);
  // Storage Commitment (scp/storage_commitment_scp.cc): validates and keeps
  // the request with its report job, answers, then tries to deliver the
  // report on this association; otherwise the job sends it on a new one.
  OFCondition HandleAction(T_DIMSE_N_ActionRQ& request, T_ASC_PresentationContextID context_id);
  OFCondition RespondAction(T_ASC_PresentationContextID context_id,
                            const T_DIMSE_N_ActionRQ& request, std::uint16_t status,
                            const std::string& error_comment);

  // Storage contexts whose requestor proposed to be the SCP (a C-GET
  // requestor) are accepted in that role, so sub-operations can flow back.
  OFCondition AcceptProposedStorageRoles();

  // Records one fee event per study of which at least one instance was
  // delivered under the association's purpose; failures are logged.
  void RecordFees(const std::vector<archive::StoredInstance>& instances,
                  const std::vector<bool>& delivered, const std::vector<bool>& failed);

  // Sub-operation counts of one C-MOVE or C-GET.
  struct RetrieveProgress {
    int completed = 0;
    int failed = 0;
    int warnings = 0;
    std::size_t remaining = 0;
    std::vector<std::string> failed_uids;
  };
  // What C-MOVE and C-GET share: refuse with 0x0124 when the caller may not
  // retrieve, parse the identifier, find the instances in scope (and, under
  // a purpose, in its range: the others are no sub-operations), send each with `send_one` (after `open`, which returns an
  // error text or ""), honour C-CANCEL, and answer through `respond`
  // (pending after each instance, then the final status with the Failed
  // SOP Instance UID List), and record the fee events (RecordFees).
  // `operation` names it in the log.
  OFCondition RunRetrieve(
      const char* operation, T_ASC_PresentationContextID context_id, Uint16 message_id,
      DcmDataset& identifier, archive::InformationModel model,
      const std::function<std::string(const std::vector<archive::StoredInstance>&)>& open,
      const std::function<dicom::SendResult(const archive::StoredInstance&)>& send_one,
      const std::function<OFCondition(std::uint16_t status, DcmDataset* response,
                                      DcmDataset* detail, const RetrieveProgress&)>& respond);

  T_ASC_Association* association_;
  const ArchiveServices& services_;
  archive::FileStore& files_;
  archive::IngestService& ingest_;
  archive::QueryIndex& query_;
  std::int64_t facility_id_;
  bool may_store_;
  std::string calling_ae_;
  std::optional<billing::Purpose> purpose_;
  bool may_retrieve_;
  // The facility's storage conditions, read at the first C-STORE.
  std::unique_ptr<archive::StorageGate> storage_gate_;
  AssociationCounts counts_;
  Uint16 next_event_message_id_ = 1;  // N-EVENT-REPORTs this SCP sends
};

// A purpose's available range as the query index applies it in C-FIND.
archive::RangeFilter RangeFilterOf(const billing::AvailableRange& range);

}  // namespace hokan::scp
