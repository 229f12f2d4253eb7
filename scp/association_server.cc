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

}  // namespace

AssociationServer::AssociationServer(const archive::ArchiveConfig& config,
                                     archive::InstanceIndex& index, archive::QueryIndex& query,
                                     archive::FileStore& files, archive::IngestService& ingest,
                                     archive::CommitmentService* commitment,
                                     billing::PurposeDirectory* purposes,
                                     archive::RetrievalLedger* retrievals)
    : config_(config), index_(index), query_(query), files_(files), ingest_(ingest),
      purposes_(purposes),
      query_service_(query),
      retrieve_service_(query, files, retrievals),
      services_{config, files, ingest, query_service_, retrieve_service_, index, commitment},
      scp_config_(MakeScpConfig(config)),
      pool_({config.port, config.max_associations, config.max_pdu_bytes,
             config.acse_timeout_seconds, config.association_request_deadline_seconds,
             config.max_half_open_per_address},
            [this](T_ASC_Association* association) { ServeAssociation(association); }) {}

AssociationServer::~AssociationServer() = default;

void AssociationServer::Open() { pool_.Open(); }

void AssociationServer::Serve() { pool_.Serve(); }

void AssociationServer::Stop() { pool_.Stop(); }

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
                  admission.may_retrieve});
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
