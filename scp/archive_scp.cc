#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/archive_scp.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/accepted_transfer_syntaxes.h"
#include "dicom/dicom_header.h"
#include "scp/find_identifier.h"
#include "dicom/dicom_sender.h"
#include "scp/status_mapping.h"
#include "dicom/dimse_status.h"

namespace hokan::scp {
namespace {

const char* kVerificationSopClasses[] = {UID_VerificationSOPClass};

const char* kQuerySopClasses[] = {UID_FINDPatientRootQueryRetrieveInformationModel,
                                  UID_FINDStudyRootQueryRetrieveInformationModel,
                                  UID_MOVEPatientRootQueryRetrieveInformationModel,
                                  UID_MOVEStudyRootQueryRetrieveInformationModel,
                                  UID_GETPatientRootQueryRetrieveInformationModel,
                                  UID_GETStudyRootQueryRetrieveInformationModel};


// DIMSE status codes of C-FIND (PS3.4 C.4.1.1.4).
// C-STORE from an AE that may only query.

}  // namespace

archive::RangeFilter RangeFilterOf(const billing::AvailableRange& range) {
  archive::RangeFilter filter;
  for (const auto& modality : range.modalities) {
    if (modality == "*") {
      filter.every_modality = true;
    } else {
      filter.modalities.push_back(modality);
    }
  }
  filter.sop_class_uids = range.sop_class_uids;
  filter.include_reports = range.may_retrieve_reports;
  return filter;
}


namespace {

template <typename T, std::size_t N>
constexpr int CountOf(T (&)[N]) {
  return static_cast<int>(N);
}

}  // namespace

ArchiveScp::ArchiveScp(T_ASC_Association* association, const ArchiveServices& services,
                       CallerScope caller)
    : association_(association), services_(services), files_(services.files),
      ingest_(services.ingest), query_(services.query),
      facility_id_(caller.facility_id), may_store_(caller.may_store),
      calling_ae_(std::move(caller.calling_ae)), purpose_(std::move(caller.purpose)),
      may_retrieve_(caller.may_retrieve) {}

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
  if (result.good()) result = AcceptProposedStorageRoles();
  if (result.bad()) {
    Log(LogLevel::kError, "association from {}: negotiation failed: {}", calling_ae_,
        result.text());
  }
  return result;
}

OFCondition ArchiveScp::handleIncomingCommand(T_DIMSE_Message* incomingMsg,
                                              const DcmPresentationContextInfo& presInfo) {
  switch (incomingMsg->CommandField) {
    case DIMSE_C_ECHO_RQ:
      ++counts_.echoes;
      return DcmThreadSCP::handleIncomingCommand(incomingMsg, presInfo);
    case DIMSE_C_STORE_RQ:
      return HandleStore(incomingMsg->msg.CStoreRQ, presInfo.presentationContextID);
    case DIMSE_C_FIND_RQ:
      return HandleFind(incomingMsg->msg.CFindRQ, presInfo.presentationContextID);
    case DIMSE_C_MOVE_RQ:
      return HandleMove(incomingMsg->msg.CMoveRQ, presInfo.presentationContextID);
    case DIMSE_C_GET_RQ:
      return HandleGet(incomingMsg->msg.CGetRQ, presInfo.presentationContextID);
    case DIMSE_N_ACTION_RQ:
      return HandleAction(incomingMsg->msg.NActionRQ, presInfo.presentationContextID);
    default:
      Log(LogLevel::kWarn, "association from {}: unsupported DIMSE command 0x{:04x}",
          calling_ae_, static_cast<unsigned>(incomingMsg->CommandField));
      return DcmThreadSCP::handleIncomingCommand(incomingMsg, presInfo);
  }
}

OFCondition ArchiveScp::HandleStore(T_DIMSE_C_StoreRQ& request,
                                    T_ASC_PresentationContextID context_id) {
  const std::filesystem::path incoming = files_.NewIncomingPath();
  const auto expectation = ingest_.ExpectStore();
  const OFCondition received = receiveSTORERequest(request, context_id, incoming.c_str());
  if (received.bad()) {
    // The data set did not arrive whole: the association is broken.
    try {
      files_.RemoveIncoming(incoming);
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
    }
    Log(LogLevel::kWarn, "association from {}: C-STORE of {} not received: {}", calling_ae_,
        request.AffectedSOPInstanceUID, received.text());
    ++counts_.failed;
    return received;
  }

  archive::IngestResult result;
  if (!may_store_) {
    try {
      files_.RemoveIncoming(incoming);
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
    }
    ++counts_.failed;
    Log(LogLevel::kWarn, "C-STORE from {} refused with 0x0124: the AE may only query",
        calling_ae_);
    return Respond(context_id, request, dicom::status::kRefusedNotAuthorized,
                   "this AE title may query and retrieve, not store");
  }
  if (purpose_ && may_retrieve_ && !purpose_->range.may_store_reports &&
      billing::IsReportSopClass(request.AffectedSOPClassUID)) {
    try {
      files_.RemoveIncoming(incoming);
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
    }
    ++counts_.failed;
    Log(LogLevel::kWarn,
        "C-STORE of report {} from {} refused with 0x0124: purpose '{}' may not store reports",
        request.AffectedSOPInstanceUID, calling_ae_, purpose_->name);
    return Respond(context_id, request, dicom::status::kRefusedNotAuthorized,
                   "purpose " + purpose_->name + " may not store reports");
  }
  const dicom::HeaderReadResult header = dicom::ReadInstanceHeader(incoming);
  if (!header.ok) {
    try {
      files_.RemoveIncoming(incoming);
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
    }
    result = {archive::IngestStatus::kInvalidDataSet, header.error};
  } else {
    if (!header.character_set_warning.empty()) {
      Log(LogLevel::kWarn, "instance {}: {}", request.AffectedSOPInstanceUID,
          header.character_set_warning);
    }
    archive::StoreRequest store;
    if (!storage_gate_) {
      try {
        storage_gate_ = ingest_.OpenGate(facility_id_);
      } catch (const Error& error) {
        Log(LogLevel::kError, "C-STORE from {}: {}", calling_ae_, error.what());
      }
    }
    store.gate = storage_gate_.get();
    store.facility_id = facility_id_;
    store.calling_ae = calling_ae_;
    store.requested_sop_class_uid = request.AffectedSOPClassUID;
    store.requested_sop_instance_uid = request.AffectedSOPInstanceUID;
    store.incoming_file = incoming;
    store.attributes = header.attributes;
    if (store.gate == nullptr) {
      files_.RemoveIncoming(incoming);
      result = {archive::IngestStatus::kOutOfResources,
                "the storage conditions cannot be read; retry later", 0};
    } else {
      result = ingest_.Ingest(store, expectation.get());
    }
  }

  const std::uint16_t status = StoreStatusFor(result);
  switch (result.status) {
    case archive::IngestStatus::kStored:
      ++counts_.stored;
      Log(LogLevel::kDebug, "stored {} from {}", request.AffectedSOPInstanceUID, calling_ae_);
      break;
    case archive::IngestStatus::kAlreadyStored:
      ++counts_.already_stored;
      Log(LogLevel::kDebug, "{} from {} was already stored with identical content",
          request.AffectedSOPInstanceUID, calling_ae_);
      break;
    default:
      ++counts_.failed;
      Log(status == dicom::status::kOutOfResources && result.status != archive::IngestStatus::kRefused &&
                  result.message.find("quota") == std::string::npos
              ? LogLevel::kError
              : LogLevel::kWarn,
          "C-STORE from {} refused with 0x{:04X}: {}", calling_ae_, status, result.message);
      break;
  }
  return Respond(context_id, request, status, result.message);
}

OFCondition ArchiveScp::Respond(T_ASC_PresentationContextID context_id,
                                const T_DIMSE_C_StoreRQ& request, std::uint16_t status,
                                const std::string& error_comment) {
  if (status == dicom::status::kSuccess || error_comment.empty()) {
    return sendSTOREResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                             request.AffectedSOPInstanceUID, status, nullptr);
  }
  const auto detail = dicom::ErrorDetail(error_comment);
  return sendSTOREResponse(context_id, request.MessageID, request.AffectedSOPClassUID,
                           request.AffectedSOPInstanceUID, status, detail.get());
}

OFCondition ArchiveScp::HandleFind(T_DIMSE_C_FindRQ& request,
                                   T_ASC_PresentationContextID context_id) {
  DcmDataset* received = nullptr;
  const OFCondition cond = receiveFINDRequest(request, context_id, received);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> identifier(received);
  ++counts_.queries;
  const auto started = std::chrono::steady_clock::now();
  const std::string sop_class = request.AffectedSOPClassUID;

  auto finish = [&](std::uint16_t status, const std::string& comment, std::size_t matches,
                    const char* level) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started).count();
    Log(status == dicom::status::kSuccess ? LogLevel::kInfo : LogLevel::kWarn,
        "C-FIND from {} at {} level: {} match(es), status 0x{:04X}{}, {} ms", calling_ae_,
        level, matches, status, comment.empty() ? "" : " (" + comment + ")", elapsed);
    const auto detail = comment.empty() ? nullptr : dicom::ErrorDetail(comment);
    return sendFINDResponse(context_id, request.MessageID, sop_class.c_str(), nullptr, status,
                            detail.get());
  };

  if (!may_retrieve_) {
    return finish(dicom::status::kRefusedNotAuthorized,
                  "not granted purpose " + (purpose_ ? purpose_->name : std::string()), 0, "?");
  }
  const auto model = InformationModelOf(sop_class);
  if (!model) return finish(dicom::status::kSopClassNotSupported, "SOP class not supported", 0, "?");
  FindIdentifierResult parsed = ParseFindIdentifier(*identifier, *model, {facility_id_});
  if (!parsed.ok) return finish(dicom::status::kDoesNotMatchSopClass, parsed.error, 0, "?");
  parsed.identifier.request.include_shared_patients = true;
  if (purpose_) parsed.identifier.request.range = RangeFilterOf(purpose_->range);
  const char* level = LevelName(parsed.identifier.request.level);

  std::vector<archive::FindMatch> matches;
  try {
    matches = query_.Find(parsed.identifier.request);
  } catch (const Error& error) {
    const bool bad_query = error.code() == ErrorCode::kInvalidInput;
    if (!bad_query) Log(LogLevel::kError, "C-FIND from {}: {}", calling_ae_, error.what());
    return finish(bad_query ? dicom::status::kDoesNotMatchSopClass : dicom::status::kOutOfResources,
                  bad_query ? error.what() : "the index is unavailable; retry later", 0, level);
  }

  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (checkForCANCEL(context_id, request.MessageID) == EC_Normal) {
      return finish(dicom::status::kCancel, "cancelled after " + std::to_string(i) + " match(es)", i,
                    level);
    }
    const auto response = BuildFindResponse(parsed.identifier, matches[i]);
    const OFCondition sent = sendFINDResponse(context_id, request.MessageID, sop_class.c_str(),
                                              response.get(), dicom::status::kPending, nullptr);
    if (sent.bad()) return sent;
  }
  return finish(dicom::status::kSuccess, {}, matches.size(), level);
}

void ArchiveScp::notifyAssociationAcknowledge() { counts_.ending = "ended"; }

void ArchiveScp::notifyReleaseRequest() { counts_.ending = "released"; }

void ArchiveScp::notifyAbortRequest() { counts_.ending = "aborted by peer"; }

void ArchiveScp::notifyDIMSEError(const OFCondition& cond) {
  counts_.ending = fmt::format("ended on error: {}", cond.text());
}

}  // namespace hokan::scp
