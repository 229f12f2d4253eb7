#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/archive_scp.h"

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dul.h"

#include <fmt/format.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "archive/common/log.h"
#include "dicom/accepted_transfer_syntaxes.h"
#include "dicom/facility_contract.h"
#include "scp/commitment_handler.h"
#include "scp/contract_handler.h"
#include "scp/find_handler.h"
#include "scp/get_handler.h"
#include "scp/move_handler.h"
#include "scp/store_handler.h"

namespace hokan::scp {
namespace {

const char* kVerificationSopClasses[] = {UID_VerificationSOPClass};

const char* kQuerySopClasses[] = {UID_FINDPatientRootQueryRetrieveInformationModel,
                                  UID_FINDStudyRootQueryRetrieveInformationModel,
                                  UID_MOVEPatientRootQueryRetrieveInformationModel,
                                  UID_MOVEStudyRootQueryRetrieveInformationModel,
                                  UID_GETPatientRootQueryRetrieveInformationModel,
                                  UID_GETStudyRootQueryRetrieveInformationModel};

// DcmTransportConnection::getSocket is protected; a derived class may name
// it, and the member pointer it yields applies to any connection.
struct SocketAccess : DcmTransportConnection {
  static DcmNativeSocketType Of(DcmTransportConnection& connection) {
    return (connection.*(&SocketAccess::getSocket))();
  }
};

template <typename T, std::size_t N>
constexpr int CountOf(T (&)[N]) {
  return static_cast<int>(N);
}

}  // namespace

ArchiveScp::ArchiveScp(T_ASC_Association* association, const ArchiveServices& services,
                       CallerScope caller)
    : association_(association), services_(services), caller_(std::move(caller)) {}

ArchiveScp::~ArchiveScp() = default;

OFCondition ArchiveScp::negotiateAssociation() {
  OFCondition result = ASC_acceptContextsWithPreferredTransferSyntaxes(
      association_->params, kVerificationSopClasses, CountOf(kVerificationSopClasses),
      dicom::kUncompressedTransferSyntaxes, dicom::kUncompressedTransferSyntaxCount);
  if (result.good()) {
    result = ASC_acceptContextsWithPreferredTransferSyntaxes(
        association_->params, kQuerySopClasses, CountOf(kQuerySopClasses),
        dicom::kUncompressedTransferSyntaxes, dicom::kUncompressedTransferSyntaxCount);
  }
  if (result.good()) {
    result = ASC_acceptContextsWithPreferredTransferSyntaxes(
        association_->params, dcmAllStorageSOPClassUIDs, numberOfDcmAllStorageSOPClassUIDs,
        dicom::kStorageTransferSyntaxes, dicom::kStorageTransferSyntaxCount);
  }
  if (result.good() && services_.commitment != nullptr) {
    const char* commitment[] = {UID_StorageCommitmentPushModelSOPClass};
    result = ASC_acceptContextsWithPreferredTransferSyntaxes(
        association_->params, commitment, CountOf(commitment), dicom::kUncompressedTransferSyntaxes,
        dicom::kUncompressedTransferSyntaxCount);
  }
  if (result.good() && services_.contract_timing != nullptr) {
    // Explicit VR only: the answer's private attributes carry their VRs.
    const char* contract[] = {dicom::kFacilityContractSopClassUid};
    const char* explicit_little_endian[] = {UID_LittleEndianExplicitTransferSyntax};
    result = ASC_acceptContextsWithPreferredTransferSyntaxes(
        association_->params, contract, CountOf(contract), explicit_little_endian,
        CountOf(explicit_little_endian));
  }
  if (result.good()) result = AcceptProposedStorageRoles();
  if (result.good() && !caller_.may_store) result = RefuseStorageToNonStorer();
  if (result.bad()) {
    Log(LogLevel::kError, "association from {}: negotiation failed: {}", caller_.calling_ae,
        result.text());
  }
  return result;
}

OFCondition ArchiveScp::AcceptProposedStorageRoles() {
  const std::set<std::string> storage(dcmAllStorageSOPClassUIDs,
                                      dcmAllStorageSOPClassUIDs + numberOfDcmAllStorageSOPClassUIDs);
  T_ASC_Parameters* params = association_->params;
  for (int i = 0; i < ASC_countPresentationContexts(params); ++i) {
    T_ASC_PresentationContext context;
    OFCondition result = ASC_getPresentationContext(params, i, &context);
    if (result.bad()) return result;
    if ((context.proposedRole != ASC_SC_ROLE_SCP && context.proposedRole != ASC_SC_ROLE_SCUSCP) ||
        !storage.count(context.abstractSyntax)) {
      continue;
    }
    T_ASC_PresentationContext accepted;
    if (ASC_findAcceptedPresentationContext(params, context.presentationContextID, &accepted)
            .bad()) {
      continue;  // refused (e.g. no transfer syntax in common)
    }
    result = ASC_acceptPresentationContext(params, context.presentationContextID,
                                           accepted.acceptedTransferSyntax, context.proposedRole);
    if (result.bad()) return result;
  }
  return EC_Normal;
}

OFCondition ArchiveScp::RefuseStorageToNonStorer() {
  const std::set<std::string> storage(dcmAllStorageSOPClassUIDs,
                                      dcmAllStorageSOPClassUIDs + numberOfDcmAllStorageSOPClassUIDs);
  T_ASC_Parameters* params = association_->params;
  int refused = 0;
  for (int i = 0; i < ASC_countPresentationContexts(params); ++i) {
    T_ASC_PresentationContext context;
    OFCondition result = ASC_getPresentationContext(params, i, &context);
    if (result.bad()) return result;
    if (!storage.count(context.abstractSyntax) ||
        context.resultReason != ASC_P_ACCEPTANCE) {
      continue;
    }
    if (context.proposedRole == ASC_SC_ROLE_SCP || context.proposedRole == ASC_SC_ROLE_SCUSCP) {
      // The requestor receives (C-GET); it may not send.
      result = ASC_acceptPresentationContext(params, context.presentationContextID,
                                             context.acceptedTransferSyntax, ASC_SC_ROLE_SCP);
    } else {
      result = ASC_refusePresentationContext(params, context.presentationContextID,
                                             ASC_P_USERREJECTION);
      ++refused;
    }
    if (result.bad()) return result;
  }
  if (refused > 0) {
    Log(LogLevel::kInfo, "association from {}: {} storage context(s) refused: may not store",
        caller_.calling_ae, refused);
  }
  return EC_Normal;
}

OFCondition ArchiveScp::handleIncomingCommand(T_DIMSE_Message* incomingMsg,
                                              const DcmPresentationContextInfo& presInfo) {
  const T_ASC_PresentationContextID context_id = presInfo.presentationContextID;
  switch (incomingMsg->CommandField) {
    case DIMSE_C_ECHO_RQ:
      ++counts_.echoes;
      return DcmThreadSCP::handleIncomingCommand(incomingMsg, presInfo);
    case DIMSE_C_STORE_RQ:
      return StoreHandler(*this).Handle(incomingMsg->msg.CStoreRQ, context_id);
    case DIMSE_C_FIND_RQ:
      return FindHandler(*this).Handle(incomingMsg->msg.CFindRQ, context_id);
    case DIMSE_C_MOVE_RQ:
      return MoveHandler(*this).Handle(incomingMsg->msg.CMoveRQ, context_id);
    case DIMSE_C_GET_RQ:
      return GetHandler(*this).Handle(incomingMsg->msg.CGetRQ, context_id);
    case DIMSE_N_GET_RQ:
      return ContractHandler(*this).Handle(incomingMsg->msg.NGetRQ, context_id);
    case DIMSE_N_ACTION_RQ:
      return CommitmentHandler(*this).Handle(incomingMsg->msg.NActionRQ, context_id);
    default:
      Log(LogLevel::kWarn, "association from {}: unsupported DIMSE command 0x{:04x}",
          caller_.calling_ae, static_cast<unsigned>(incomingMsg->CommandField));
      return DcmThreadSCP::handleIncomingCommand(incomingMsg, presInfo);
  }
}

void ArchiveScp::notifyAssociationAcknowledge() { counts_.ending = "ended"; }

void ArchiveScp::notifyReleaseRequest() { counts_.ending = "released"; }

void ArchiveScp::notifyAbortRequest() { counts_.ending = "aborted by peer"; }

void ArchiveScp::notifyRECEIVEProgress(const unsigned long byte_count) {
  ReceiveBound& bound = receive_bound_;
  if (bound.path.empty()) {
    CutOffOversizedDataSet(byte_count);
    return;
  }
  if (byte_count <= bound.limit) return;
  if (!bound.exceeded) {
    Log(LogLevel::kWarn, "association from {}: C-STORE data set over {} bytes: discarding it",
        caller_.calling_ae, bound.limit);
  }
  bound.exceeded = true;
  // DCMTK keeps writing at its offset (the file becomes sparse); nothing
  // written stays.
  if (::truncate(bound.path.c_str(), 0) != 0) {
    Log(LogLevel::kError, "{}: cannot empty it: {}", bound.path, std::strerror(errno));
  }
}

void ArchiveScp::CutOffOversizedDataSet(const unsigned long byte_count) {
  const archive::ResourceLimits& limits = services_.config.limits;
  const auto limit = static_cast<unsigned long>(
      std::max(limits.max_identifier_bytes, limits.max_commitment_bytes));
  if (cut_off_ || byte_count <= limit) return;
  DcmTransportConnection* connection =
      association_ ? DUL_getTransportConnection(association_->DULassociation) : nullptr;
  if (connection == nullptr) return;
  cut_off_ = true;
  Log(LogLevel::kWarn,
      "association from {}: a data set passed {} bytes while arriving (archive.max_identifier_"
      "bytes, max_commitment_bytes): connection closed",
      caller_.calling_ae, limit);
  // The next read fails; closing then resets the connection (linger 0), so
  // a client still sending learns at once instead of at its TCP timeout.
  const DcmNativeSocketType socket = SocketAccess::Of(*connection);
  const linger reset{1, 0};
  ::setsockopt(socket, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::shutdown(socket, SHUT_RDWR);
}

void ArchiveScp::notifyDIMSEError(const OFCondition& cond) {
  counts_.ending = fmt::format("ended on error: {}", cond.text());
}

}  // namespace hokan::scp
