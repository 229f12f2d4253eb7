#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/scpcfg.h"

#include "archive/config/config.h"
#include "archive/index/instance_index.h"
#include "archive/index/query_index.h"
#include "archive/ingest/ingest_service.h"
#include "archive/query/query_service.h"
#include "archive/retrieve/retrieve_service.h"
#include "archive/storage/file_store.h"
#include "billing/purposes.h"
#include "scp/archive_scp.h"
#include "scp/tls_admission.h"
#include "dicom/association_pool.h"

#include <memory>
#include <thread>

namespace hokan::scp {

// The DICOM front door of hokan-archive: one thread accepts associations on
// the configured port and hands each to one of `max_associations` worker
// threads; when all are busy the request is rejected (transient, local
// limit exceeded). Each worker admits or rejects the association (called
// AE, calling AE, peer address, and the purpose the called AE title stands
// for: see DecideAdmission) and then serves it with an ArchiveScp.
// Nagle's algorithm is off on every association socket. With
// [archive] tls_port, a second pool accepts DICOM TLS associations there
// (its own `max_associations` workers) and serves them the same way. It owns the query
// and retrieve services the associations share; `retrievals` (when given;
// billing::FeeRecorder in hokan-archive) records each retrieval's fee
// events and audit row.
class AssociationServer {
 public:
  AssociationServer(const archive::ArchiveConfig& config, archive::InstanceIndex& index,
                    archive::QueryIndex& query, archive::FileStore& files,
                    archive::IngestService& ingest,
                    archive::CommitmentService* commitment = nullptr,
                    billing::PurposeDirectory* purposes = nullptr,
                    archive::RetrievalLedger* retrievals = nullptr,
                    archive::ContractTimingService* contract_timing = nullptr);
  ~AssociationServer();  // stops and joins every thread
  AssociationServer(const AssociationServer&) = delete;
  AssociationServer& operator=(const AssociationServer&) = delete;

  // Opens the listening port (and the TLS port). Throws
  // hokan::Error(kConfiguration) when a port cannot be opened (in use, no
  // permission) or the TLS certificate, key or profile cannot be used.
  void Open();

  // Accepts associations until Stop(); then waits for running associations
  // to end. REQUIRES: Open() succeeded.
  void Serve();

  // Asks Serve() to return; safe from any thread (not from a signal handler).
  void Stop();

 private:
  void ServeAssociation(T_ASC_Association* association);

  const archive::ArchiveConfig& config_;
  archive::InstanceIndex& index_;
  archive::QueryIndex& query_;
  archive::FileStore& files_;
  archive::IngestService& ingest_;
  billing::PurposeDirectory* purposes_;
  archive::QueryService query_service_;
  archive::RetrieveService retrieve_service_;
  ArchiveServices services_;
  DcmSharedSCPConfig scp_config_;
  FacilityTlsPolicy tls_policy_;
  dicom::AssociationPool pool_;  // its workers use the members above until it is destroyed
  std::unique_ptr<dicom::AssociationPool> tls_pool_;  // with [archive] tls_port
  std::thread tls_accepting_thread_;                  // runs tls_pool_->Serve()
};

}  // namespace hokan::scp
