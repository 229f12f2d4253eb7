#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/move_handler.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/derived_image.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "scp/archive_scp.h"
#include "scp/find_identifier.h"
#include "scp/outgoing_image.h"
#include "scp/retrieve_handler.h"
#include "scp/tls_admission.h"

namespace hokan::scp {
namespace {

// Sub-operations over a new association to the move destination.
class MoveSender : public SubOperationSender {
 public:
  // `our_ae_title`: the AE title the C-MOVE's caller called (the shared
  // one, a facility's own or a purpose's): the sub-operations call out as it.
  MoveSender(const archive::ArchiveConfig& config, const archive::FileStore& files,
             std::string our_ae_title, archive::MoveDestination destination,
             archive::RetrievalCaller caller, Uint16 message_id)
      : config_(config), files_(files), our_ae_title_(std::move(our_ae_title)),
        destination_(std::move(destination)), caller_(std::move(caller)),
        message_id_(message_id) {}

  std::string Open(const archive::RetrievalPlan& plan) override {
    std::vector<std::pair<std::string, std::string>> kinds;
    for (const auto& delivery : plan.deliveries) {
      const archive::StoredInstance& instance = delivery.instance;
      kinds.emplace_back(instance.sop_class_uid, instance.transfer_syntax_uid);
      if (caller_.purpose && caller_.purpose->lossy_only) {
        kinds.emplace_back(instance.sop_class_uid, dicom::kLossyTransferSyntax);
      }
    }
    dicom::SendTarget target{our_ae_title_, destination_.ae_title, destination_.host,
                             destination_.port, config_.acse_timeout_seconds,
                             config_.dimse_timeout_seconds, config_.max_pdu_bytes,
                             std::nullopt};
    target.tls = OutgoingTls(config_, destination_.ae_title, destination_.host,
                             destination_.port);
    return sender_.Open(target, kinds);
  }

  dicom::SendResult Send(const archive::Delivery& delivery) override {
    const archive::StoredInstance& instance = delivery.instance;
    if (delivery.form == archive::DeliveryForm::kDerived) {
      DerivedOutgoing derived = MakeDerivedOutgoing(files_, delivery, *caller_.purpose);
      if (!derived.error.empty()) return Failed(derived.error);
      return sender_.SendDataSet(*derived.format->getDataset(), instance.sop_class_uid,
                                 derived.transfer_syntax_uid, caller_.calling_ae, message_id_);
    }
    if (const auto local = files_.LocalPath(instance.relative_path)) {
      return sender_.Send(*local, instance.sop_class_uid, instance.sop_instance_uid,
                          instance.transfer_syntax_uid, caller_.calling_ae, message_id_);
    }
    DcmFileFormat format;
    const std::string error = LoadStoredFile(files_, instance.relative_path, format);
    if (!error.empty()) return Failed(error);
    return sender_.SendDecompressed(*format.getDataset(), instance.sop_class_uid,
                                    instance.transfer_syntax_uid, caller_.calling_ae,
                                    message_id_);
  }

 private:
  static dicom::SendResult Failed(const std::string& reason) {
    dicom::SendResult result;
    result.reason = reason;
    return result;
  }

  const archive::ArchiveConfig& config_;
  const archive::FileStore& files_;
  std::string our_ae_title_;
  archive::MoveDestination destination_;
  archive::RetrievalCaller caller_;
  Uint16 message_id_;
  dicom::DicomSender sender_;
};

}  // namespace

OFCondition MoveHandler::Handle(T_DIMSE_C_MoveRQ& request,
                                T_ASC_PresentationContextID context_id) {
  DcmDataset* received = nullptr;
  OFString destination_ae;
  const OFCondition cond = scp_.receiveMOVERequest(request, context_id, received, destination_ae);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> identifier(received);
  ++scp_.counts_.moves;
  const std::string sop_class = request.AffectedSOPClassUID;
  const std::string destination = destination_ae.c_str();
  const std::string operation = "C-MOVE to " + destination;
  const CallerScope& caller = scp_.caller_;

  auto respond = [&](std::uint16_t status, DcmDataset* response, DcmDataset* detail,
                     const RetrieveProgress& progress) {
    return scp_.sendMOVEResponse(context_id, request.MessageID, sop_class.c_str(), response,
                                 status, detail, ResponseCount(progress.remaining),
                                 ResponseCount(progress.completed),
                                 ResponseCount(progress.failed),
                                 ResponseCount(progress.warnings));
  };
  auto refuse = [&](std::uint16_t status, const std::string& comment) {
    Log(LogLevel::kWarn, "{} from {}: status 0x{:04X} ({})", operation, caller.calling_ae,
        status, comment);
    const auto detail = dicom::ErrorDetail(comment);
    return respond(status, nullptr, detail.get(), RetrieveProgress{});
  };

  const auto model = InformationModelOf(sop_class);
  if (!model) return refuse(dicom::status::kSopClassNotSupported, "SOP class not supported");
  std::optional<archive::MoveDestination> target;
  try {
    target = scp_.services_.index.FindMoveDestination(destination, caller.facility_id);
  } catch (const Error& error) {
    Log(LogLevel::kError, "{} from {}: {}", operation, caller.calling_ae, error.what());
    return refuse(dicom::status::kOutOfResources, "the index is unavailable; retry later");
  }
  if (!target) {
    return refuse(dicom::status::kMoveDestinationUnknown,
                  "move destination '" + destination + "' is not known");
  }
  MoveSender sender(scp_.services_.config, scp_.services_.files,
                    scp_.getCalledAETitle().c_str(), *target, RetrievalCallerOf(caller),
                    request.MessageID);
  return RetrieveHandler(scp_, operation, context_id, request.MessageID, respond)
      .Run(*identifier, *model, sender);
}

}  // namespace hokan::scp
