#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/get_handler.h"

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include <fmt/format.h>

#include <memory>
#include <string>

#include "dicom/dicom_sender.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "scp/archive_scp.h"
#include "scp/find_identifier.h"
#include "scp/outgoing_image.h"
#include "scp/retrieve_handler.h"

namespace hokan::scp {
namespace {

dicom::SendResult Failed(std::string reason) {
  dicom::SendResult result;
  result.reason = std::move(reason);
  return result;
}

// Sub-operations back over the C-GET requestor's own association.
class GetSender : public SubOperationSender {
 public:
  GetSender(T_ASC_Association* association, const archive::FileStore& files,
            archive::RetrievalCaller caller, int timeout_seconds)
      : association_(association), files_(files), caller_(std::move(caller)),
        timeout_seconds_(timeout_seconds) {}

  std::string Open(const archive::RetrievalPlan&) override { return {}; }

  dicom::SendResult Send(const archive::Delivery& delivery) override {
    const archive::StoredInstance& instance = delivery.instance;
    if (delivery.form == archive::DeliveryForm::kDerived) {
      DerivedOutgoing derived = MakeDerivedOutgoing(files_, delivery, *caller_.purpose);
      if (!derived.error.empty()) return Failed(derived.error);
      T_ASC_PresentationContextID context = ContextFor(instance, derived.transfer_syntax_uid);
      if (context == 0 && derived.transfer_syntax_uid == UID_LittleEndianExplicitTransferSyntax) {
        context = ContextFor(instance, UID_LittleEndianImplicitTransferSyntax);
      }
      if (context == 0) {
        return Failed(fmt::format("the requestor accepted no storage context for SOP class {} "
                                  "in {}", instance.sop_class_uid,
                                  DcmXfer(derived.transfer_syntax_uid.c_str()).getXferName()));
      }
      return Store(context, instance, derived.sop_instance_uid, nullptr,
                   derived.format->getDataset());
    }
    return SendStored(instance);
  }

 private:
  T_ASC_PresentationContextID ContextFor(const archive::StoredInstance& instance,
                                         const std::string& syntax) const {
    return ASC_findAcceptedPresentationContextID(association_, instance.sop_class_uid.c_str(),
                                                 syntax.c_str());
  }

  // As stored (streamed from its file) when the requestor accepted its
  // syntax on the context found for it, else loaded and converted.
  dicom::SendResult SendStored(const archive::StoredInstance& instance) {
    const T_ASC_PresentationContextID context =
        ContextFor(instance, instance.transfer_syntax_uid);
    if (context == 0) {
      return Failed(fmt::format("the requestor accepted no storage context for SOP class {}",
                                instance.sop_class_uid));
    }
    T_ASC_PresentationContext accepted;
    ASC_findAcceptedPresentationContext(association_->params, context, &accepted);
    const auto local = files_.LocalPath(instance.relative_path);
    if (local && instance.transfer_syntax_uid == accepted.acceptedTransferSyntax) {
      return Store(context, instance, instance.sop_instance_uid, local->c_str(), nullptr);
    }
    DcmFileFormat format;
    std::string error = LoadStoredFile(files_, instance.relative_path, format);
    if (!error.empty()) return Failed(error);
    if (instance.transfer_syntax_uid != accepted.acceptedTransferSyntax) {
      error = dicom::ConvertForSending(*format.getDataset(), instance.transfer_syntax_uid,
                                       accepted.acceptedTransferSyntax);
      if (!error.empty()) return Failed(error);
    }
    return Store(context, instance, instance.sop_instance_uid, nullptr, format.getDataset());
  }

  dicom::SendResult Store(T_ASC_PresentationContextID context,
                          const archive::StoredInstance& instance,
                          const std::string& sop_instance_uid, const char* file,
                          DcmDataset* data_set) {
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
    const OFCondition sent =
        DIMSE_storeUser(association_, context, &store, file, data_set, nullptr, nullptr,
                        DIMSE_NONBLOCKING, timeout_seconds_, &reply, &status_detail);
    delete status_detail;
    if (sent.bad()) return Failed(fmt::format("C-STORE sub-operation failed: {}", sent.text()));
    dicom::SendResult result;
    result.status = reply.DimseStatus;
    result.warning = (reply.DimseStatus & 0xF000) == 0xB000;
    result.ok = reply.DimseStatus == dicom::status::kSuccess || result.warning;
    if (!result.ok) {
      result.reason = fmt::format("the requestor answered 0x{:04X}", reply.DimseStatus);
    }
    return result;
  }

  T_ASC_Association* association_;
  const archive::FileStore& files_;
  archive::RetrievalCaller caller_;
  int timeout_seconds_;
};

}  // namespace

OFCondition GetHandler::Handle(T_DIMSE_C_GetRQ& request,
                               T_ASC_PresentationContextID context_id) {
  T_ASC_PresentationContextID data_set_context = context_id;
  DcmDataset* received = nullptr;
  const OFCondition cond = scp_.receiveDIMSEDataset(&data_set_context, &received);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> identifier(received);
  ++scp_.counts_.gets;
  const std::string sop_class = request.AffectedSOPClassUID;
  T_ASC_Association* association = scp_.association_;

  auto respond = [&](std::uint16_t status, DcmDataset* response, DcmDataset* detail,
                     const RetrieveProgress& progress) {
    T_DIMSE_C_GetRSP reply{};
    reply.MessageIDBeingRespondedTo = request.MessageID;
    reply.DimseStatus = status;
    reply.DataSetType = response ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
    OFStandard::strlcpy(reply.AffectedSOPClassUID, sop_class.c_str(),
                        sizeof reply.AffectedSOPClassUID);
    reply.NumberOfRemainingSubOperations = ResponseCount(progress.remaining);
    reply.NumberOfCompletedSubOperations = ResponseCount(progress.completed);
    reply.NumberOfFailedSubOperations = ResponseCount(progress.failed);
    reply.NumberOfWarningSubOperations = ResponseCount(progress.warnings);
    reply.opts = O_GET_AFFECTEDSOPCLASSUID | O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS |
                 O_GET_NUMBEROFFAILEDSUBOPERATIONS | O_GET_NUMBEROFWARNINGSUBOPERATIONS;
    if (status == dicom::status::kPending || status == dicom::status::kCancel) {
      reply.opts |= O_GET_NUMBEROFREMAININGSUBOPERATIONS;
    }
    return DIMSE_sendGetResponse(association, context_id, &request, &reply, response, detail);
  };

  const auto model = InformationModelOf(sop_class);
  if (!model) {
    const auto detail = dicom::ErrorDetail("SOP class not supported");
    return respond(dicom::status::kSopClassNotSupported, nullptr, detail.get(),
                   RetrieveProgress{});
  }
  GetSender sender(association, scp_.services_.files, RetrievalCallerOf(scp_.caller_),
                   scp_.services_.config.dimse_timeout_seconds);
  return RetrieveHandler(scp_, "C-GET", context_id, request.MessageID, respond)
      .Run(*identifier, *model, sender);
}

}  // namespace hokan::scp
