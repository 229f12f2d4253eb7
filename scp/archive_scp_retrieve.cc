// ArchiveScp: C-MOVE and C-GET (Query/Retrieve, PS3.4 C.4.2 and C.4.3).
#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/archive_scp.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/dimse.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "scp/find_identifier.h"
#include "dicom/derived_image.h"
#include "dicom/dimse_status.h"

namespace hokan::scp {
namespace {


// Splits a value list ("1.2\1.3") into its values.
std::vector<std::string> SplitValues(const std::string& value) {
  std::vector<std::string> values;
  std::size_t start = 0;
  for (;;) {
    const auto end = value.find('\\', start);
    values.push_back(value.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return values;
    start = end + 1;
  }
}

Uint16 Count(std::size_t value) { return static_cast<Uint16>(std::min<std::size_t>(value, 65535)); }

dicom::PixelLimits LimitsOf(const billing::Purpose& purpose) {
  return {purpose.id, purpose.range.max_rows, purpose.range.max_columns,
          purpose.range.lossy_only};
}

// An instance as it goes out under a purpose: nullptr `format` when it goes
// as stored; otherwise its derived image in `transfer_syntax_uid`.
struct Outgoing {
  std::unique_ptr<DcmFileFormat> format;
  std::string transfer_syntax_uid;
  std::string error;
};

Outgoing PrepareOutgoing(const std::optional<billing::Purpose>& purpose,
                         const archive::StoredInstance& instance,
                         const std::filesystem::path& file) {
  Outgoing outgoing;
  if (!purpose) return outgoing;
  const dicom::PixelLimits limits = LimitsOf(*purpose);
  if (!dicom::NeedsDerivedImage(instance.rows, instance.columns, limits)) return outgoing;
  outgoing.format = std::make_unique<DcmFileFormat>();
  const OFCondition loaded = outgoing.format->loadFile(file.c_str());
  if (loaded.bad()) {
    outgoing.error = fmt::format("cannot read {}: {}", file.string(), loaded.text());
    return outgoing;
  }
  const std::string error = dicom::MakeDerivedImage(*outgoing.format->getDataset(), limits);
  if (!error.empty()) {
    outgoing.error = fmt::format("derived image for purpose {}: {}", purpose->name, error);
    return outgoing;
  }
  outgoing.transfer_syntax_uid =
      limits.lossy_only ? dicom::kLossyTransferSyntax : UID_LittleEndianExplicitTransferSyntax;
  return outgoing;
}

}  // namespace

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

OFCondition ArchiveScp::RunRetrieve(
    const char* operation, T_ASC_PresentationContextID context_id, Uint16 message_id,
    DcmDataset& identifier, archive::InformationModel model,
    const std::function<std::string(const std::vector<archive::StoredInstance>&)>& open,
    const std::function<dicom::SendResult(const archive::StoredInstance&)>& send_one,
    const std::function<OFCondition(std::uint16_t, DcmDataset*, DcmDataset*,
                                    const RetrieveProgress&)>& respond) {
  const auto started = std::chrono::steady_clock::now();
  RetrieveProgress progress;
  const char* level = "?";
  std::size_t matches = 0;
  auto finish = [&](std::uint16_t status, const std::string& comment) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started).count();
    Log(status == dicom::status::kSuccess ? LogLevel::kInfo : LogLevel::kWarn,
        "{} from {} at {} level: {} match(es), {} completed, {} failed, {} warning(s), "
        "status 0x{:04X}{}, {} ms",
        operation, calling_ae_, level, matches, progress.completed, progress.failed,
        progress.warnings, status, comment.empty() ? "" : " (" + comment + ")", elapsed);
    std::unique_ptr<DcmDataset> response;
    if (!progress.failed_uids.empty()) {
      response = std::make_unique<DcmDataset>();
      std::string list;
      for (const auto& uid : progress.failed_uids) list += (list.empty() ? "" : "\\") + uid;
      response->putAndInsertString(DCM_FailedSOPInstanceUIDList, list.c_str());
    }
    const auto detail = comment.empty() ? nullptr : dicom::ErrorDetail(comment);
    return respond(status, response.get(), detail.get(), progress);
  };

  if (!may_retrieve_) {
    return finish(dicom::status::kRefusedNotAuthorized,
                  "not granted purpose " + (purpose_ ? purpose_->name : std::string()));
  }
  const FindIdentifierResult parsed = ParseFindIdentifier(identifier, model, {facility_id_});
  if (!parsed.ok) return finish(dicom::status::kDoesNotMatchSopClass, parsed.error);
  level = LevelName(parsed.identifier.request.level);
  archive::RetrieveRequest retrieve;
  retrieve.model = model;
  retrieve.level = parsed.identifier.request.level;
  retrieve.facility_ids = {facility_id_};
  retrieve.include_shared_patients = true;
  for (const auto& key : parsed.identifier.request.keys) {
    if (key.value.empty()) continue;
    std::vector<std::string>* target = nullptr;
    switch (key.tag) {
      case 0x00100020: target = &retrieve.patient_ids; break;
      case 0x0020000D: target = &retrieve.study_instance_uids; break;
      case 0x0020000E: target = &retrieve.series_instance_uids; break;
      case 0x00080018: target = &retrieve.sop_instance_uids; break;
      default: continue;  // retrieval matches on unique keys only
    }
    *target = SplitValues(key.value);
    for (const auto& value : *target) {
      if (value.find_first_of("*?") != std::string::npos) {
        return finish(dicom::status::kDoesNotMatchSopClass,
                      fmt::format("wildcards are not allowed in {} keys", operation));
      }
    }
  }

  std::vector<archive::StoredInstance> instances;
  try {
    instances = query_.FindInstancesToRetrieve(retrieve);
  } catch (const Error& error) {
    const bool bad_query = error.code() == ErrorCode::kInvalidInput;
    if (!bad_query) Log(LogLevel::kError, "{} from {}: {}", operation, calling_ae_, error.what());
    return finish(bad_query ? dicom::status::kDoesNotMatchSopClass : dicom::status::kOutOfResources,
                  bad_query ? error.what() : "the index is unavailable; retry later");
  }
  if (purpose_) {
    // Out of the purpose's range: not sent, not a sub-operation.
    const std::size_t found = instances.size();
    instances.erase(std::remove_if(instances.begin(), instances.end(),
                                   [&](const archive::StoredInstance& instance) {
                                     return !purpose_->range.Includes(instance.modality,
                                                                      instance.sop_class_uid);
                                   }),
                    instances.end());
    if (instances.size() != found) {
      Log(LogLevel::kInfo, "{} from {}: {} of {} instance(s) outside purpose '{}' left out",
          operation, calling_ae_, found - instances.size(), found, purpose_->name);
    }
  }
  matches = instances.size();
  if (instances.empty()) return finish(dicom::status::kSuccess, {});
  std::vector<bool> delivered(instances.size(), false);
  std::vector<bool> failed(instances.size(), false);

  const std::string open_error = open(instances);
  if (!open_error.empty()) {
    progress.failed = static_cast<int>(instances.size());
    for (const auto& instance : instances) progress.failed_uids.push_back(instance.sop_instance_uid);
    return finish(dicom::status::kOutOfResourcesSubOperations, open_error);
  }
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (checkForCANCEL(context_id, message_id) == EC_Normal) {
      progress.remaining = instances.size() - i;
      RecordFees(instances, delivered, failed);
      return finish(dicom::status::kCancel, "cancelled");
    }
    const auto& instance = instances[i];
    const dicom::SendResult sent = send_one(instance);
    if (sent.ok) {
      delivered[i] = true;
      ++progress.completed;
      if (sent.warning) ++progress.warnings;
    } else {
      failed[i] = true;
      ++progress.failed;
      progress.failed_uids.push_back(instance.sop_instance_uid);
      Log(LogLevel::kWarn, "{} of {} failed: {}", operation, instance.sop_instance_uid,
          sent.reason);
    }
    progress.remaining = instances.size() - i - 1;
    if (progress.remaining > 0) {
      const OFCondition pending = respond(dicom::status::kPending, nullptr, nullptr, progress);
      if (pending.bad()) return pending;
    }
  }
  RecordFees(instances, delivered, failed);
  if (progress.failed == 0) return finish(dicom::status::kSuccess, {});
  return finish(progress.completed > 0 ? dicom::status::kSubOperationsCompleteWithFailures : dicom::status::kOutOfResourcesSubOperations,
                fmt::format("{} of {} sub-operations failed", progress.failed, instances.size()));
}

void ArchiveScp::RecordFees(const std::vector<archive::StoredInstance>& instances,
                            const std::vector<bool>& delivered,
                            const std::vector<bool>& failed) {
  if (!purpose_ || services_.fees == nullptr) return;
  std::map<std::pair<std::int64_t, std::string>, billing::StudyDelivery> studies;
  std::vector<std::pair<std::int64_t, std::string>> order;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const auto& instance = instances[i];
    const auto key = std::make_pair(instance.facility_id, instance.study_instance_uid);
    auto [entry, inserted] = studies.try_emplace(key);
    billing::StudyDelivery& study = entry->second;
    if (inserted) {
      order.push_back(key);
      study.facility_id = instance.facility_id;
      study.study_instance_uid = instance.study_instance_uid;
    }
    if (delivered[i]) {
      if (study.delivered == 0) study.modality = instance.modality;
      ++study.delivered;
    }
    if (failed[i]) ++study.failed;
  }
  const TimePoint now = Now();
  for (const auto& key : order) {
    const billing::StudyDelivery& study = studies.at(key);
    if (study.delivered == 0) continue;
    try {
      services_.fees->RecordDelivery(purpose_->id, calling_ae_, study, now);
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "fee event of study {} under purpose '{}' for {} not recorded: {}",
          study.study_instance_uid, purpose_->name, calling_ae_, error.what());
    }
  }
}

OFCondition ArchiveScp::HandleMove(T_DIMSE_C_MoveRQ& request,
                                   T_ASC_PresentationContextID context_id) {
  DcmDataset* received = nullptr;
  OFString destination_ae;
  const OFCondition cond = receiveMOVERequest(request, context_id, received, destination_ae);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> identifier(received);
  ++counts_.moves;
  const std::string sop_class = request.AffectedSOPClassUID;
  const std::string destination = destination_ae.c_str();
  const std::string operation = "C-MOVE to " + destination;

  auto respond = [&](std::uint16_t status, DcmDataset* response, DcmDataset* detail,
                     const RetrieveProgress& progress) {
    return sendMOVEResponse(context_id, request.MessageID, sop_class.c_str(), response, status,
                            detail, Count(progress.remaining), Count(progress.completed),
                            Count(progress.failed), Count(progress.warnings));
  };
  auto refuse = [&](std::uint16_t status, const std::string& comment) {
    Log(LogLevel::kWarn, "{} from {}: status 0x{:04X} ({})", operation, calling_ae_, status,
        comment);
    const auto detail = dicom::ErrorDetail(comment);
    return respond(status, nullptr, detail.get(), RetrieveProgress{});
  };

  const auto model = InformationModelOf(sop_class);
  if (!model) return refuse(dicom::status::kSopClassNotSupported, "SOP class not supported");
  std::optional<archive::MoveDestination> target;
  try {
    target = services_.index.FindMoveDestination(destination, facility_id_);
  } catch (const Error& error) {
    Log(LogLevel::kError, "{} from {}: {}", operation, calling_ae_, error.what());
    return refuse(dicom::status::kOutOfResources, "the index is unavailable; retry later");
  }
  if (!target) {
    return refuse(dicom::status::kMoveDestinationUnknown, "move destination '" + destination + "' is not known");
  }

  dicom::DicomSender sender;
  const archive::ArchiveConfig& config = services_.config;
  auto open = [&](const std::vector<archive::StoredInstance>& instances) {
    std::vector<std::pair<std::string, std::string>> kinds;
    for (const auto& instance : instances) {
      kinds.emplace_back(instance.sop_class_uid, instance.transfer_syntax_uid);
      if (purpose_ && purpose_->range.lossy_only) {
        kinds.emplace_back(instance.sop_class_uid, dicom::kLossyTransferSyntax);
      }
    }
    return sender.Open({config.ae_title, target->ae_title, target->host, target->port,
                        config.acse_timeout_seconds, config.dimse_timeout_seconds,
                        config.max_pdu_bytes},
                       kinds);
  };
  auto send_one = [&](const archive::StoredInstance& instance) {
    const std::filesystem::path file = files_.LocalPath(instance.relative_path).value();
    Outgoing outgoing = PrepareOutgoing(purpose_, instance, file);
    if (!outgoing.error.empty()) {
      dicom::SendResult result;
      result.reason = outgoing.error;
      return result;
    }
    if (outgoing.format) {
      return sender.SendDataSet(*outgoing.format->getDataset(), instance.sop_class_uid,
                                outgoing.transfer_syntax_uid, calling_ae_, request.MessageID);
    }
    return sender.Send(file, instance.sop_class_uid, instance.transfer_syntax_uid, calling_ae_,
                       request.MessageID);
  };
  return RunRetrieve(operation.c_str(), context_id, request.MessageID, *identifier, *model,
                     open, send_one, respond);
}

OFCondition ArchiveScp::HandleGet(T_DIMSE_C_GetRQ& request,
                                  T_ASC_PresentationContextID context_id) {
  T_ASC_PresentationContextID data_set_context = context_id;
  DcmDataset* received = nullptr;
  const OFCondition cond = receiveDIMSEDataset(&data_set_context, &received);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> identifier(received);
  ++counts_.gets;
  const std::string sop_class = request.AffectedSOPClassUID;
  const int timeout = services_.config.dimse_timeout_seconds;

  auto respond = [&](std::uint16_t status, DcmDataset* response, DcmDataset* detail,
                     const RetrieveProgress& progress) {
    T_DIMSE_C_GetRSP reply{};
    reply.MessageIDBeingRespondedTo = request.MessageID;
    reply.DimseStatus = status;
    reply.DataSetType = response ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
    OFStandard::strlcpy(reply.AffectedSOPClassUID, sop_class.c_str(),
                        sizeof reply.AffectedSOPClassUID);
    reply.NumberOfRemainingSubOperations = Count(progress.remaining);
    reply.NumberOfCompletedSubOperations = Count(progress.completed);
    reply.NumberOfFailedSubOperations = Count(progress.failed);
    reply.NumberOfWarningSubOperations = Count(progress.warnings);
    reply.opts = O_GET_AFFECTEDSOPCLASSUID | O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS |
                 O_GET_NUMBEROFFAILEDSUBOPERATIONS | O_GET_NUMBEROFWARNINGSUBOPERATIONS;
    if (status == dicom::status::kPending || status == dicom::status::kCancel) reply.opts |= O_GET_NUMBEROFREMAININGSUBOPERATIONS;
    return DIMSE_sendGetResponse(association_, context_id, &request, &reply, response, detail);
  };

  const auto model = InformationModelOf(sop_class);
  if (!model) {
    const auto detail = dicom::ErrorDetail("SOP class not supported");
    return respond(dicom::status::kSopClassNotSupported, nullptr, detail.get(), RetrieveProgress{});
  }

  // Sub-operations go back over this association, on the storage contexts
  // the requestor accepted in the SCP role.
  auto open = [](const std::vector<archive::StoredInstance>&) { return std::string(); };
  auto send_one = [&](const archive::StoredInstance& instance) {
    dicom::SendResult result;
    const std::filesystem::path file = files_.LocalPath(instance.relative_path).value();
    Outgoing outgoing = PrepareOutgoing(purpose_, instance, file);
    if (!outgoing.error.empty()) {
      result.reason = outgoing.error;
      return result;
    }
    const std::string& syntax =
        outgoing.format ? outgoing.transfer_syntax_uid : instance.transfer_syntax_uid;
    T_ASC_PresentationContextID store_context = ASC_findAcceptedPresentationContextID(
        association_, instance.sop_class_uid.c_str(), syntax.c_str());
    if (store_context == 0 && outgoing.format &&
        syntax == UID_LittleEndianExplicitTransferSyntax) {
      store_context = ASC_findAcceptedPresentationContextID(
          association_, instance.sop_class_uid.c_str(), UID_LittleEndianImplicitTransferSyntax);
    }
    if (store_context == 0 && outgoing.format) {
      result.reason = fmt::format("the requestor accepted no storage context for SOP class {} "
                                  "in {}", instance.sop_class_uid,
                                  DcmXfer(syntax.c_str()).getXferName());
      return result;
    }
    if (store_context == 0) {
      result.reason = fmt::format("the requestor accepted no storage context for SOP class {}",
                                  instance.sop_class_uid);
      return result;
    }
    T_ASC_PresentationContext context;
    ASC_findAcceptedPresentationContext(association_->params, store_context, &context);
    DcmFileFormat format;
    DcmDataset* data_set = outgoing.format ? outgoing.format->getDataset() : nullptr;
    std::string sop_instance_uid = instance.sop_instance_uid;
    if (data_set != nullptr) {
      OFString derived_uid;
      data_set->findAndGetOFString(DCM_SOPInstanceUID, derived_uid);
      sop_instance_uid = derived_uid.c_str();
    } else if (instance.transfer_syntax_uid != context.acceptedTransferSyntax) {
      const OFCondition loaded = format.loadFile(file.c_str());
      if (loaded.bad()) {
        result.reason = fmt::format("cannot read {}: {}", file.string(), loaded.text());
        return result;
      }
      result.reason = dicom::ConvertForSending(*format.getDataset(), instance.transfer_syntax_uid,
                                             context.acceptedTransferSyntax);
      if (!result.reason.empty()) return result;
      data_set = format.getDataset();
    }
    T_DIMSE_C_StoreRQ store{};
    store.MessageID = association_->nextMsgID++;
    OFStandard::strlcpy(store.AffectedSOPClassUID, instance.sop_class_uid.c_str(),
                        sizeof store.AffectedSOPClassUID);
    OFStandard::strlcpy(store.AffectedSOPInstanceUID, sop_instance_uid.c_str(),
                        sizeof store.AffectedSOPInstanceUID);
    store.DataSetType = DIMSE_DATASET_PRESENT;
    store.Priority = DIMSE_PRIORITY_MEDIUM;
    T_DIMSE_C_StoreRSP reply{};
    DcmDataset* status_detail = nullptr;
    const OFCondition sent = DIMSE_storeUser(
        association_, store_context, &store, data_set ? nullptr : file.c_str(), data_set,
        nullptr, nullptr, DIMSE_NONBLOCKING, timeout, &reply, &status_detail);
    delete status_detail;
    if (sent.bad()) {
      result.reason = fmt::format("C-STORE sub-operation failed: {}", sent.text());
      return result;
    }
    result.status = reply.DimseStatus;
    result.ok = reply.DimseStatus == dicom::status::kSuccess || (reply.DimseStatus & 0xF000) == 0xB000;
    result.warning = (reply.DimseStatus & 0xF000) == 0xB000;
    if (!result.ok) result.reason = fmt::format("the requestor answered 0x{:04X}", reply.DimseStatus);
    return result;
  };
  return RunRetrieve("C-GET", context_id, request.MessageID, *identifier, *model, open,
                     send_one, respond);
}

}  // namespace hokan::scp
