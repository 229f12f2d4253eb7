#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/relay_scp.h"

#include "dicom/dimse_responses.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/scpthrd.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "dicom/accepted_transfer_syntaxes.h"
#include "archive/common/log.h"
#include "dicom/dimse_status.h"
#include "scu/relay_tls.h"

namespace hokan::relay {
namespace {

constexpr int kMaxAssociations = 8;
constexpr int kMaxPduBytes = 65536;


template <typename T, std::size_t N>
constexpr int CountOf(T (&)[N]) {
  return static_cast<int>(N);
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// What one association did, for its log line.
struct Counts {
  int spooled = 0;
  int failed = 0;
  std::string ending = "not acknowledged";
};

// Serves one admitted association.
class RelayScp : public DcmThreadSCP {
 public:
  RelayScp(T_ASC_Association* association, SpoolStore& store, const RelayScpHooks& hooks,
           std::string calling_ae, bool may_store, bool may_report, std::string source)
      : association_(association), store_(store), hooks_(hooks),
        calling_ae_(std::move(calling_ae)), may_store_(may_store), may_report_(may_report),
        source_(std::move(source)) {}

  const Counts& counts() const { return counts_; }

 protected:
  OFCondition negotiateAssociation() override {
    const char* verification[] = {UID_VerificationSOPClass};
    const char* commitment[] = {UID_StorageCommitmentPushModelSOPClass};
    T_ASC_Parameters* params = association_->params;
    OFCondition result = ASC_acceptContextsWithPreferredTransferSyntaxes(
        params, verification, CountOf(verification), dicom::kUncompressedTransferSyntaxes,
        dicom::kUncompressedTransferSyntaxCount);
    if (result.good()) {
      result = ASC_acceptContextsWithPreferredTransferSyntaxes(
          params, dcmAllStorageSOPClassUIDs, numberOfDcmAllStorageSOPClassUIDs,
          dicom::kStorageTransferSyntaxes, dicom::kStorageTransferSyntaxCount);
    }
    if (result.good()) {
      result = ASC_acceptContextsWithPreferredTransferSyntaxes(
          params, commitment, CountOf(commitment), dicom::kUncompressedTransferSyntaxes,
          dicom::kUncompressedTransferSyntaxCount);
    }
    if (result.good()) result = AcceptProposedCommitmentRoles();
    if (result.bad()) {
      Log(LogLevel::kError, "association from {}: negotiation failed: {}", calling_ae_,
          result.text());
    }
    return result;
  }

  OFCondition handleIncomingCommand(T_DIMSE_Message* message,
                                    const DcmPresentationContextInfo& info) override {
    try {
      switch (message->CommandField) {
        case DIMSE_C_STORE_RQ:
          return HandleStore(message->msg.CStoreRQ, info.presentationContextID);
        case DIMSE_N_EVENT_REPORT_RQ:
          return HandleEventReport(message->msg.NEventReportRQ, info.presentationContextID);
        case DIMSE_N_ACTION_RQ:
          return HandleAction(message->msg.NActionRQ, info.presentationContextID);
        default:
          return DcmThreadSCP::handleIncomingCommand(message, info);
      }
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "association from {}: {}", calling_ae_, error.what());
      return EC_IllegalCall;
    }
  }

  void notifyAssociationAcknowledge() override { counts_.ending = "ended"; }
  void notifyReleaseRequest() override { counts_.ending = "released"; }
  void notifyAbortRequest() override { counts_.ending = "aborted by peer"; }
  void notifyDIMSEError(const OFCondition& cond) override {
    counts_.ending = fmt::format("ended on error: {}", cond.text());
  }

 private:
  // The archive opening an association to report proposes the SCP role
  // (PS3.4 J.3.3); accept the role it proposed.
  OFCondition AcceptProposedCommitmentRoles() {
    T_ASC_Parameters* params = association_->params;
    for (int i = 0; i < ASC_countPresentationContexts(params); ++i) {
      T_ASC_PresentationContext context;
      OFCondition result = ASC_getPresentationContext(params, i, &context);
      if (result.bad()) return result;
      if (std::strcmp(context.abstractSyntax, UID_StorageCommitmentPushModelSOPClass) != 0 ||
          (context.proposedRole != ASC_SC_ROLE_SCP &&
           context.proposedRole != ASC_SC_ROLE_SCUSCP)) {
        continue;
      }
      T_ASC_PresentationContext accepted;
      if (ASC_findAcceptedPresentationContext(params, context.presentationContextID, &accepted)
              .bad()) {
        continue;
      }
      result = ASC_acceptPresentationContext(params, context.presentationContextID,
                                             accepted.acceptedTransferSyntax,
                                             context.proposedRole);
      if (result.bad()) return result;
    }
    return EC_Normal;
  }

  OFCondition RespondStore(T_ASC_PresentationContextID context_id,
                           const T_DIMSE_C_StoreRQ& request, std::uint16_t status,
                           const std::string& comment) {
    if (status != dicom::status::kSuccess) {
      ++counts_.failed;
      Log(LogLevel::kWarn, "C-STORE of {} from {} refused with 0x{:04X}: {}",
          request.AffectedSOPInstanceUID, calling_ae_, status, comment);
    }
    const auto detail = status == dicom::status::kSuccess || comment.empty() ? nullptr
                                                                     : dicom::ErrorDetail(comment);
    return sendSTOREResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                             request.AffectedSOPInstanceUID, status, detail.get());
  }

  OFCondition HandleStore(T_DIMSE_C_StoreRQ& request, T_ASC_PresentationContextID context_id) {
    if (!may_store_ || !store_.HasSpace()) {
      // Read the data set off the wire and drop it.
      DcmDataset* discarded = nullptr;
      const OFCondition received = receiveSTORERequest(request, context_id, discarded);
      delete discarded;
      if (received.bad()) return received;
      if (!may_store_) {
        return RespondStore(context_id, request, dicom::status::kRefusedNotAuthorized,
                            "this AE title may not store at the relay");
      }
      return RespondStore(context_id, request, dicom::status::kOutOfResources,
                          "the relay's spool is full; retry later");
    }
    const std::filesystem::path incoming = store_.NewIncomingPath();
    const OFCondition received = receiveSTORERequest(request, context_id, incoming.c_str());
    if (received.bad()) {
      std::error_code ignored;
      std::filesystem::remove(incoming, ignored);
      Log(LogLevel::kWarn, "association from {}: C-STORE of {} not received: {}", calling_ae_,
          request.AffectedSOPInstanceUID, received.text());
      ++counts_.failed;
      return received;
    }
    const SpoolResult result = store_.SpoolIncoming(incoming, source_);
    switch (result.status) {
      case SpoolStatus::kSpooled:
        ++counts_.spooled;
        if (hooks_.spooled) hooks_.spooled();
        return RespondStore(context_id, request, dicom::status::kSuccess, "");
      case SpoolStatus::kInvalid:
        return RespondStore(context_id, request, dicom::status::kCannotUnderstand, result.message);
      case SpoolStatus::kOutOfSpace:
        break;
    }
    return RespondStore(context_id, request, dicom::status::kOutOfResources, result.message);
  }

  OFCondition HandleEventReport(T_DIMSE_N_EventReportRQ& request,
                                T_ASC_PresentationContextID context_id) {
    // DcmSCP::handleEVENTREPORTRequest receives the data set and answers;
    // here the answer carries the hook's status, so receive and answer apart.
    DcmDataset* received = nullptr;
    T_ASC_PresentationContextID data_context = 0;
    OFCondition cond = receiveDIMSEDataset(&data_context, &received);
    std::unique_ptr<DcmDataset> information(received);
    if (cond.bad()) return cond;
    std::uint16_t status = dicom::status::kProcessingFailure;
    if (std::string(request.AffectedSOPClassUID) != UID_StorageCommitmentPushModelSOPClass) {
      status = dicom::status::kNoSuchSopClass;
    } else if (!may_report_) {
      // Only the archive commits what the relay sent: the queue is untouched.
      status = dicom::status::kRefusedNotAuthorized;
      Log(LogLevel::kWarn, "N-EVENT-REPORT from {} refused with 0x{:04X}: only the archive may "
          "report storage commitment", calling_ae_, status);
    } else if (hooks_.commitment_report && information) {
      status = hooks_.commitment_report(calling_ae_, request.EventTypeID, *information);
    } else {
      Log(LogLevel::kWarn, "N-EVENT-REPORT from {}: no handler for commitment reports",
          calling_ae_);
    }
    T_DIMSE_Message response;
    std::memset(&response, 0, sizeof(response));
    response.CommandField = DIMSE_N_EVENT_REPORT_RSP;
    T_DIMSE_N_EventReportRSP& answer = response.msg.NEventReportRSP;
    answer.MessageIDBeingRespondedTo = request.MessageID;
    answer.DimseStatus = status;
    answer.DataSetType = DIMSE_DATASET_NULL;
    answer.EventTypeID = request.EventTypeID;
    answer.opts = O_NEVENTREPORT_AFFECTEDSOPCLASSUID | O_NEVENTREPORT_AFFECTEDSOPINSTANCEUID |
                  O_NEVENTREPORT_EVENTTYPEID;
    OFStandard::strlcpy(answer.AffectedSOPClassUID, request.AffectedSOPClassUID,
                        sizeof(answer.AffectedSOPClassUID));
    OFStandard::strlcpy(answer.AffectedSOPInstanceUID, request.AffectedSOPInstanceUID,
                        sizeof(answer.AffectedSOPInstanceUID));
    return sendDIMSEMessage(context_id, &response, nullptr, nullptr);
  }

  OFCondition HandleAction(T_DIMSE_N_ActionRQ& request, T_ASC_PresentationContextID context_id) {
    DcmDataset* received = nullptr;
    Uint16 action_type = 0;
    const OFCondition cond = receiveACTIONRequest(request, context_id, received, action_type);
    if (cond.bad()) return cond;
    std::unique_ptr<DcmDataset> information(received);
    std::uint16_t status = dicom::status::kProcessingFailure;
    std::string comment;
    if (std::string(request.RequestedSOPClassUID) != UID_StorageCommitmentPushModelSOPClass) {
      status = dicom::status::kNoSuchSopClass;
      comment = "N-ACTION is only supported for Storage Commitment";
    } else if (action_type != 1) {
      status = 0x0123;
      comment = fmt::format("Action Type ID {} is not 1 (Request Commitment)", action_type);
    } else if (!information) {
      status = 0x0115;
      comment = "the N-ACTION has no Action Information";
    } else if (hooks_.commitment_request) {
      status = hooks_.commitment_request(calling_ae_, *information);
    } else {
      comment = "storage commitment is not available";
    }
    if (status != dicom::status::kSuccess) {
      Log(LogLevel::kWarn, "storage commitment N-ACTION from {} answered 0x{:04X}{}",
          calling_ae_, status, comment.empty() ? "" : ": " + comment);
    }
    T_DIMSE_Message response = dicom::ActionResponse(request, status);
    const auto detail = comment.empty() ? nullptr : dicom::ErrorDetail(comment);
    return sendDIMSEMessage(context_id, &response, nullptr, detail.get());
  }

  T_ASC_Association* association_;
  SpoolStore& store_;
  const RelayScpHooks& hooks_;
  std::string calling_ae_;
  bool may_store_;
  bool may_report_;  // the archive (ArchivePeerCheck): its commitment reports are taken
  std::string source_;
  Counts counts_;
};

DcmSCPConfig MakeScpConfig(const RelayConfig& config) {
  DcmSCPConfig scp_config;
  scp_config.setAETitle(config.ae_title.c_str());
  scp_config.setPort(static_cast<Uint16>(config.port));
  scp_config.setMaxReceivePDULength(kMaxPduBytes);
  scp_config.setACSETimeout(static_cast<Uint32>(config.acse_timeout_seconds));
  scp_config.setDIMSETimeout(static_cast<Uint32>(config.dimse_timeout_seconds));
  scp_config.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scp_config.setHostLookupEnabled(OFFalse);
  return scp_config;
}

}  // namespace

RelayServer::RelayServer(const RelayConfig& config, SpoolStore& store, RelayScpHooks hooks)
    : config_(config), store_(store), hooks_(std::move(hooks)),
      scp_config_(MakeScpConfig(config)), archive_peer_(config),
      pool_({config.port, kMaxAssociations, kMaxPduBytes, config.acse_timeout_seconds,
             config.association_request_deadline_seconds, config.max_half_open_per_address,
             std::nullopt},
            [this](T_ASC_Association* association) { ServeAssociation(association); }) {
  if (config.tls_port != 0) {
    tls_pool_ = std::make_unique<dicom::AssociationPool>(
        dicom::AssociationPoolOptions{config.tls_port, kMaxAssociations, kMaxPduBytes,
                                      config.acse_timeout_seconds,
                                      config.association_request_deadline_seconds,
                                      config.max_half_open_per_address, IncomingTls(config)},
        [this](T_ASC_Association* association) { ServeAssociation(association); });
  }
}

RelayServer::~RelayServer() {
  Stop();
  if (tls_accepting_thread_.joinable()) tls_accepting_thread_.join();
  tls_pool_.reset();  // before the members its workers use
}

void RelayServer::Open() {
  pool_.Open();
  if (tls_pool_) tls_pool_->Open();
}

// The TLS port is served on a thread of its own; Serve returns when both
// have stopped.
void RelayServer::Serve() {
  if (tls_pool_) {
    tls_accepting_thread_ = std::thread([this] {
      tls_pool_->Serve();
      pool_.Stop();
    });
  }
  pool_.Serve();
  if (tls_pool_) tls_pool_->Stop();
  if (tls_accepting_thread_.joinable()) tls_accepting_thread_.join();
}

void RelayServer::Stop() {
  pool_.Stop();
  if (tls_pool_) tls_pool_->Stop();
}

void RelayServer::ServeAssociation(T_ASC_Association* association) {
  const auto [calling_ae, called_ae, peer] = dicom::PartiesOf(*association);

  const bool is_modality = Contains(config_.modality_ae_titles, calling_ae);
  const bool is_pull_pacs = config_.pull_ae_title && *config_.pull_ae_title == calling_ae;
  // The archive's AE title alone proves nothing: its address (and TLS) must
  // be the archive's too.
  std::string archive_refusal = "calling AE title is not the archive's";
  if (calling_ae == config_.archive_ae_title) {
    archive_refusal = archive_peer_.Refusal(peer, dicom::IsTlsAssociation(*association));
  }
  const bool is_archive = archive_refusal.empty();
  std::string refusal;
  if (called_ae != config_.ae_title) {
    refusal = fmt::format("called AE title '{}' is not ours ('{}')", called_ae, config_.ae_title);
    dicom::RejectAssociation(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                           ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
  } else if (!is_modality && !is_pull_pacs && !is_archive) {
    refusal = calling_ae == config_.archive_ae_title
                  ? fmt::format("calling AE title '{}' is the archive's, but {}", calling_ae,
                                archive_refusal)
                  : fmt::format("calling AE title '{}' is not a configured modality, the "
                                "archive or the pull PACS", calling_ae);
    dicom::RejectAssociation(association, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                           ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
  }
  if (!refusal.empty()) {
    Log(LogLevel::kWarn, "association from {}@{} to {} rejected: {}", calling_ae, peer,
        called_ae, refusal);
    dicom::DropAndDestroyAssociation(association);
    return;
  }
  const std::string source = is_modality ? "store:" + calling_ae : std::string("pull");
  RelayScp scp(association, store_, hooks_, calling_ae, is_modality || is_pull_pacs, is_archive,
               source);
  scp.setSharedConfig(scp_config_);
  const OFCondition served = scp.run(association);
  const Counts& counts = scp.counts();
  Log(LogLevel::kInfo, "association from {}@{}: {}{}; {} spooled, {} failed", calling_ae, peer,
      counts.ending, served.good() ? "" : fmt::format(" ({})", served.text()), counts.spooled,
      counts.failed);
}

}  // namespace hokan::relay
