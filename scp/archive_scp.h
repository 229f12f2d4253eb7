#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <memory>
#include <string>

#include "dcmtk/dcmnet/scpthrd.h"

#include "archive/commitment/commitment_service.h"
#include "archive/config/config.h"
#include "archive/contract/contract_timing_service.h"
#include "archive/index/instance_index.h"
#include "archive/ingest/ingest_service.h"
#include "archive/query/query_service.h"
#include "archive/retrieve/retrieve_service.h"
#include "archive/storage/file_store.h"
#include "scp/caller_scope.h"

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

// The archive services associations use; all outlive every association.
struct ArchiveServices {
  const archive::ArchiveConfig& config;
  archive::FileStore& files;
  archive::IngestService& ingest;
  archive::QueryService& query;
  archive::RetrieveService& retrieve;
  archive::InstanceIndex& index;  // move destinations
  // Storage Commitment Push Model; nullptr: the SOP class is not offered.
  archive::CommitmentService* commitment = nullptr;
  // The hokan Facility Contract N-GET (scp/contract_handler.h); nullptr:
  // the SOP class is not offered.
  archive::ContractTimingService* contract_timing = nullptr;
};

// Serves one admitted association: a thin dispatcher over one handler per
// DIMSE service (C-ECHO here; C-STORE scp/store_handler.h, C-FIND
// scp/find_handler.h, C-MOVE and C-GET scp/retrieve_handler.h, Storage
// Commitment scp/commitment_handler.h, the facility contract's N-GET
// scp/contract_handler.h). Each handler translates DICOM into
// calls on the archive services (ingest, query, retrieve, commitment) and
// back; what a caller may store, see and receive is decided there, not
// here. Accepts Verification, the Query/Retrieve models, every storage SOP
// class (in the transfer syntaxes hokan stores as received) and, when
// offered, Storage Commitment. Construct one per association.
class ArchiveScp : public DcmThreadSCP {
 public:
  // `association` is the one run() will be given; it is only read here, to
  // negotiate its presentation contexts.
  ArchiveScp(T_ASC_Association* association, const ArchiveServices& services,
             CallerScope caller);
  ~ArchiveScp() override;

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
  // On each PDV received: applies receive_bound_.
  void notifyRECEIVEProgress(unsigned long byte_count) override;

 private:
  // The handlers use DcmSCP's protected receive and send calls on this SCP.
  friend class StoreHandler;
  friend class FindHandler;
  friend class RetrieveHandler;
  friend class MoveHandler;
  friend class GetHandler;
  friend class CommitmentHandler;
  friend class ContractHandler;

  // Storage contexts whose requestor proposed to be the SCP (a C-GET
  // requestor) are accepted in that role, so sub-operations can flow back.
  OFCondition AcceptProposedStorageRoles();
  // A caller that may not store (CallerScope::may_store) gets no storage
  // context in which it would send: those it proposes as SCU (or SCU and
  // SCP) are refused, so its C-STORE never starts. Those it proposes as
  // SCP only (a C-GET requestor receiving) stay, in that role.
  OFCondition RefuseStorageToNonStorer();

  // The C-STORE data set being received into a file (StoreHandler sets
  // it for one C-STORE): once more than `limit` bytes have arrived the file
  // is emptied at every PDV, so data the archive will not keep never
  // accumulates on disk, and `exceeded` is set.
  struct ReceiveBound {
    std::string path;  // empty: no C-STORE being received
    std::uint64_t limit = 0;
    bool exceeded = false;
  };
  ReceiveBound receive_bound_;
  // Every other data set (identifiers, N-ACTION information) is received
  // into memory: one larger than any limit on it allows
  // (max_identifier_bytes, max_commitment_bytes) is not read to its end;
  // the connection is shut down (as if the peer had gone) once it passes.
  void CutOffOversizedDataSet(unsigned long byte_count);
  bool cut_off_ = false;

  T_ASC_Association* association_;
  const ArchiveServices& services_;
  CallerScope caller_;
  // The facility's storage conditions, read at the first C-STORE.
  std::unique_ptr<archive::StorageGate> storage_gate_;
  AssociationCounts counts_;
  Uint16 next_event_message_id_ = 1;  // N-EVENT-REPORTs this SCP sends
};

}  // namespace hokan::scp
