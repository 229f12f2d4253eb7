#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/association_server.h"

#include <fmt/format.h>

#include <chrono>

#include "archive/common/log.h"
#include "scp/admission.h"
#include "scp/archive_scp.h"

namespace hokan::scp {
namespace {

DcmSCPConfig MakeScpConfig(const archive::ArchiveConfig& config) {
  DcmSCPConfig scp_config;
  scp_config.setAETitle(config.ae_title.c_str());
  scp_config.setPort(static_cast<Uint16>(config.port));
  scp_config.setMaxReceivePDULength(static_cast<Uint32>(config.max_pdu_bytes));
  scp_config.setACSETimeout(static_cast<Uint32>(config.acse_timeout_seconds));
  scp_config.setDIMSETimeout(static_cast<Uint32>(config.dimse_timeout_seconds));
  scp_config.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scp_config.setHostLookupEnabled(OFFalse);

  return scp_config;
}

dicom::AssociationPoolOptions PoolOptions(const archive::ArchiveConfig& config, int port) {
  dicom::AssociationPoolOptions options;
  options.port = port;
  options.workers = config.max_associations;
  options.max_pdu_bytes = config.max_pdu_bytes;
  options.acse_timeout_seconds = config.acse_timeout_seconds;
  options.request_deadline_seconds = config.association_request_deadline_seconds;
  options.max_half_open_per_address = config.max_half_open_per_address;
  options.max_half_open_connections = config.max_half_open_connections;
  return options;
}

// The TLS port's pool options: [archive] tls_* (config.tls_port != 0).
dicom::AssociationPoolOptions TlsPoolOptions(const archive::ArchiveConfig& config) {
  dicom::AssociationPoolOptions options = PoolOptions(config, config.tls_port);
  // The port trusts the archive's and every facility's trusted certificates;
  // FacilityTlsPolicy narrows that per facility after admission.
  dicom::TlsSettings tls = ArchiveTlsSettings(config);
  bool facility_trusts = false;
  for (const archive::FacilityConfig& facility : config.facilities) {
    tls.trusted_certificate_files.insert(tls.trusted_certificate_files.end(),
                                         facility.trusted_certificates.begin(),
                                         facility.trusted_certificates.end());
    facility_trusts = facility_trusts || !facility.trusted_certificates.empty();
  }
  using PeerCertificate = dicom::TlsSettings::PeerCertificate;
  tls.peer_certificate = !config.tls_trusted_certificates.empty() ? PeerCertificate::kRequire
                         : facility_trusts                        ? PeerCertificate::kVerifyIfSent
                                                                  : PeerCertificate::kIgnore;
  options.tls = tls;
  return options;
}

// Rejects, logs, drops and destroys `association` when the facility's TLS
// rules refuse it ([facility.NAME] tls_required, trusted_certificates).
bool RejectedByTlsPolicy(const FacilityTlsPolicy& policy, T_ASC_Association* association,
                         const std::string& facility_name) {
  const std::string refusal = policy.Refusal(facility_name, *association);
  if (refusal.empty()) return false;
  const auto [calling_ae, called_ae, peer] = dicom::PartiesOf(*association);
  Log(LogLevel::kWarn, "association from {}@{} to {} rejected: {}", calling_ae, peer, called_ae,
      refusal);
  dicom::RejectAssociation(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                           ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
  dicom::DropAndDestroyAssociation(association);
  return true;
}

}  // namespace

AssociationServer::AssociationServer(const archive::ArchiveConfig& config,
                                     archive::InstanceIndex& index, archive::QueryIndex& query,
                                     archive::FileStore& files, archive::IngestService& ingest,
                                     archive::CommitmentService* commitment,
                                     billing::PurposeDirectory* purposes,
                                     archive::RetrievalLedger* retrievals,
                                     archive::ContractTimingService* contract_timing)
    : config_(config), index_(index), query_(query), files_(files), ingest_(ingest),
      purposes_(purposes),
      query_service_(query),
      retrieve_service_(query, files, retrievals),
      services_{config, files, ingest, query_service_, retrieve_service_, index, commitment,
                contract_timing},
      scp_config_(MakeScpConfig(config)),
      tls_policy_(config),
      pool_(PoolOptions(config, config.port),
            [this](T_ASC_Association* association) { ServeAssociation(association); }) {
  if (config.tls_port != 0) {
    tls_pool_ = std::make_unique<dicom::AssociationPool>(
        TlsPoolOptions(config),
        [this](T_ASC_Association* association) { ServeAssociation(association); });
  }
}

AssociationServer::~AssociationServer() {
  Stop();
  if (tls_accepting_thread_.joinable()) tls_accepting_thread_.join();
  tls_pool_.reset();  // before the members its workers use
}

void AssociationServer::Open() {
  pool_.Open();
  if (tls_pool_) tls_pool_->Open();
}

// The TLS port is served on a thread of its own; Serve returns when both
// have stopped.
void AssociationServer::Serve() {
  if (tls_pool_) {
    tls_accepting_thread_ = std::thread([this] {
      tls_pool_->Serve();
      pool_.Stop();  // a failed TLS reader stops the whole server, as the plain one does
    });
  }
  pool_.Serve();
  if (tls_pool_) tls_pool_->Stop();
  if (tls_accepting_thread_.joinable()) tls_accepting_thread_.join();
}

void AssociationServer::Stop() {
  pool_.Stop();
  if (tls_pool_) tls_pool_->Stop();
}

void AssociationServer::ServeAssociation(T_ASC_Association* association) {
  const auto started = std::chrono::steady_clock::now();
  const auto [calling_ae, called_ae, peer] = dicom::PartiesOf(*association);

  // The facility is decided by the called AE title, the calling AE title
  // and the peer address together (docs/architecture.md, "Identity").
  const Admission admission = DecideAdmission(index_, purposes_, ArchiveAeTitlesOf(config_),
                                              called_ae, calling_ae, peer);
  switch (admission.verdict) {
    case AdmissionVerdict::kAccept:
      break;
    case AdmissionVerdict::kCalledAeNotRecognized:
      dicom::RejectAssociation(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                        ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
      break;
    case AdmissionVerdict::kCallingAeNotRecognized:
    case AdmissionVerdict::kPeerNotAllowed:
    case AdmissionVerdict::kCallerAmbiguous:
    case AdmissionVerdict::kPurposeNotGranted:
      dicom::RejectAssociation(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                        ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
      break;
    case AdmissionVerdict::kTemporarilyUnavailable:
      dicom::RejectAssociation(association, ASC_RESULT_REJECTEDTRANSIENT,
                        ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                        ASC_REASON_SP_PRES_TEMPORARYCONGESTION);
      break;
  }
  if (admission.verdict == AdmissionVerdict::kAccept &&
      RejectedByTlsPolicy(tls_policy_, association, admission.facility_name)) {
    return;
  }
  if (admission.verdict != AdmissionVerdict::kAccept) {
    Log(admission.verdict == AdmissionVerdict::kTemporarilyUnavailable ? LogLevel::kError
                                                                        : LogLevel::kWarn,
        "association from {}@{} to {} rejected: {}", calling_ae, peer, called_ae,
        admission.reason);
    dicom::DropAndDestroyAssociation(association);
    return;
  }

  if (admission.purpose) {
    Log(LogLevel::kInfo, "association from {}@{} to {}: purpose '{}'{}", calling_ae, peer,
        called_ae, admission.purpose->name,
        admission.may_retrieve ? "" : " (" + admission.reason + ": may store only)");
  }
  ArchiveScp scp(association, services_,
                 {admission.facility_id, admission.may_store, calling_ae, admission.purpose,
                  admission.may_retrieve, admission.facility_name});
  scp.setSharedConfig(scp_config_);
  const OFCondition served = scp.run(association);  // the SCP now owns the association
  const AssociationCounts& counts = scp.counts();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started).count();
  Log(LogLevel::kInfo,
      "association from {}@{} (facility {}): {}{}; {} stored, {} already stored, {} failed, "
      "{} echo, {} find, {} move, {} get, {} ms",
      calling_ae, peer, admission.facility_name, counts.ending,
      served.good() ? "" : fmt::format(" ({})", served.text()), counts.stored,
      counts.already_stored, counts.failed, counts.echoes, counts.queries, counts.moves,
      counts.gets, elapsed);
}

}  // namespace hokan::scp
