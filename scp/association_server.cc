#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/association_server.h"

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/dul.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "archive/common/error.h"
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

std::string Trimmed(const char* text) {
  std::string value(text ? text : "");
  const auto last = value.find_last_not_of(' ');
  value.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = value.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : value.substr(first);
}

void Reject(T_ASC_Association* association, T_ASC_RejectParametersResult result,
            T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason) {
  T_ASC_RejectParameters parameters;
  parameters.result = result;
  parameters.source = source;
  parameters.reason = reason;
  ASC_rejectAssociation(association, &parameters);
}

void DropAndDestroy(T_ASC_Association* association) {
  if (!association) return;
  ASC_dropAssociation(association);
  ASC_destroyAssociation(&association);
}

}  // namespace

AssociationServer::AssociationServer(const archive::ArchiveConfig& config,
                                     archive::InstanceIndex& index, archive::QueryIndex& query,
                                     archive::FileStore& files, archive::IngestService& ingest,
                                     archive::CommitmentService* commitment)
    : config_(config), index_(index), query_(query), files_(files), ingest_(ingest),
      services_{config, files, ingest, query, index, commitment},
      scp_config_(MakeScpConfig(config)) {}

AssociationServer::~AssociationServer() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (T_ASC_Association* association : waiting_) DropAndDestroy(association);
    waiting_.clear();
  }
  work_available_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  if (network_) ASC_dropNetwork(&network_);
}

void AssociationServer::Open() {
  // DCMTK reads TCP_NODELAY when it opens each association socket; without
  // it Debian's 3.6.7 leaves Nagle on, which stalls every response by ~40 ms.
  ::setenv("TCP_NODELAY", "1", 1);
  dcmDisableGethostbyaddr.set(OFTrue);
  dcmEnableAutomaticInputDataCorrection.set(OFFalse);

  // The accepting thread reads each association request itself, so a peer
  // that connects and stays silent holds up others for at most this long.
  constexpr int kRequestReadLimitSeconds = 10;
  const OFCondition opened = ASC_initializeNetwork(
      NET_ACCEPTOR, config_.port, std::min(config_.acse_timeout_seconds, kRequestReadLimitSeconds),
      &network_);
  if (opened.bad()) {
    network_ = nullptr;
    throw Error(ErrorCode::kConfiguration,
                fmt::format("cannot listen on port {}: {}", config_.port, opened.text()));
  }
  idle_workers_ = config_.max_associations;
  for (int i = 0; i < config_.max_associations; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void AssociationServer::Serve() {
  while (!stopping_) {
    T_ASC_Association* association = nullptr;
    const OFCondition received = ASC_receiveAssociation(
        network_, &association, config_.max_pdu_bytes, nullptr, nullptr, OFFalse, DUL_NOBLOCK,
        1 /* second: how often Stop() is noticed */);
    if (received == DUL_NOASSOCIATIONREQUEST) {
      ASC_destroyAssociation(&association);
      continue;
    }
    if (received.bad()) {
      const std::string peer = association && association->params
                                   ? Trimmed(association->params->DULparams.callingPresentationAddress)
                                   : std::string("?");
      Log(LogLevel::kWarn, "connection from {} dropped: not a valid association request: {}",
          peer, received.text());
      DropAndDestroy(association);
      continue;
    }
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_workers_ > 0) {
        --idle_workers_;
        waiting_.push_back(association);
        queued = true;
      }
    }
    if (queued) {
      work_available_.notify_one();
    } else {
      Log(LogLevel::kWarn,
          "association from {} rejected: all {} association slots are busy (local limit "
          "exceeded)",
          Trimmed(association->params->DULparams.callingAPTitle), config_.max_associations);
      Reject(association, ASC_RESULT_REJECTEDTRANSIENT,
             ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
             ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
      DropAndDestroy(association);
    }
  }
  Log(LogLevel::kInfo, "stopped accepting associations; waiting for running ones to end");
}

void AssociationServer::Stop() {
  stopping_ = true;
  work_available_.notify_all();
}

void AssociationServer::WorkerLoop() {
  for (;;) {
    T_ASC_Association* association = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_available_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping
      association = waiting_.front();
      waiting_.pop_front();
    }
    ServeAssociation(association);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++idle_workers_;
    }
  }
}

void AssociationServer::ServeAssociation(T_ASC_Association* association) {
  const auto started = std::chrono::steady_clock::now();
  const T_ASC_Parameters& parameters = *association->params;
  const std::string calling_ae = Trimmed(parameters.DULparams.callingAPTitle);
  const std::string called_ae = Trimmed(parameters.DULparams.calledAPTitle);
  const std::string peer = Trimmed(parameters.DULparams.callingPresentationAddress);

  const Admission admission = DecideAdmission(index_, config_.ae_title, called_ae, calling_ae, peer);
  switch (admission.verdict) {
    case AdmissionVerdict::kAccept:
      break;
    case AdmissionVerdict::kCalledAeNotRecognized:
      Reject(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
             ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
      break;
    case AdmissionVerdict::kCallingAeNotRecognized:
    case AdmissionVerdict::kPeerNotAllowed:
      Reject(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
             ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
      break;
    case AdmissionVerdict::kTemporarilyUnavailable:
      Reject(association, ASC_RESULT_REJECTEDTRANSIENT,
             ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
             ASC_REASON_SP_PRES_TEMPORARYCONGESTION);
      break;
  }
  if (admission.verdict != AdmissionVerdict::kAccept) {
    Log(admission.verdict == AdmissionVerdict::kTemporarilyUnavailable ? LogLevel::kError
                                                                        : LogLevel::kWarn,
        "association from {}@{} to {} rejected: {}", calling_ae, peer, called_ae,
        admission.reason);
    DropAndDestroy(association);
    return;
  }

  ArchiveScp scp(association, services_,
                 {admission.facility_id, admission.may_store, calling_ae});
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
