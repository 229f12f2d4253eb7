#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/contract_handler.h"

#include "dcmtk/dcmdata/dcdatset.h"

#include <fmt/format.h>

#include <cstring>
#include <optional>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/contract/contract_timing_service.h"
#include "dicom/dimse_responses.h"
#include "dicom/dimse_status.h"
#include "dicom/facility_contract.h"
#include "scp/archive_scp.h"

namespace hokan::scp {

OFCondition ContractHandler::Handle(const T_DIMSE_N_GetRQ& request,
                                    T_ASC_PresentationContextID context_id) {
  const CallerScope& caller = scp_.caller_;
  if (scp_.services_.contract_timing == nullptr ||
      std::strcmp(request.RequestedSOPClassUID, dicom::kFacilityContractSopClassUid) != 0) {
    return Respond(context_id, request, dicom::status::kNoSuchSopClass,
                   "SOP class not served by N-GET", nullptr);
  }
  if (std::strcmp(request.RequestedSOPInstanceUID, dicom::kFacilityContractSopInstanceUid) != 0) {
    return Respond(context_id, request, dicom::status::kNoSuchSopInstance,
                   "unknown facility contract instance", nullptr);
  }
  if (!caller.may_store) {
    return Respond(context_id, request, dicom::status::kRefusedNotAuthorized,
                   "only a storing AE of the facility may read its contract", nullptr);
  }
  std::optional<archive::ContractTiming> timing;
  try {
    timing = scp_.services_.contract_timing->InEffect(caller.facility_id, caller.facility_name,
                                                      Now());
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "facility contract N-GET from {}: {}", caller.calling_ae,
        error.what());
    return Respond(context_id, request, dicom::status::kProcessingFailure,
                   "the contract cannot be read now", nullptr);
  }
  if (!timing) {
    return Respond(context_id, request, dicom::status::kNoSuchSopInstance,
                   fmt::format("facility {} has no contract in effect", caller.facility_name),
                   nullptr);
  }
  DcmDataset attributes;
  try {
    dicom::EncodeContractTiming(*timing, attributes);
  } catch (const Error& error) {
    Log(LogLevel::kError, "facility contract N-GET from {}: {}", caller.calling_ae,
        error.what());
    return Respond(context_id, request, dicom::status::kProcessingFailure,
                   "the contract's timing cannot be encoded", nullptr);
  }
  Log(LogLevel::kInfo, "facility contract N-GET from {}: contract {} of facility {}, {}",
      caller.calling_ae, timing->contract_id, timing->facility, timing->backup_timing);
  return Respond(context_id, request, dicom::status::kSuccess, "", &attributes);
}

OFCondition ContractHandler::Respond(T_ASC_PresentationContextID context_id,
                                     const T_DIMSE_N_GetRQ& request, std::uint16_t status,
                                     const std::string& error_comment, DcmDataset* attributes) {
  if (status != dicom::status::kSuccess) {
    Log(LogLevel::kWarn, "facility contract N-GET from {} answered 0x{:04X}: {}",
        scp_.caller_.calling_ae, status, error_comment);
  }
  T_DIMSE_Message response;
  std::memset(&response, 0, sizeof response);
  response.CommandField = DIMSE_N_GET_RSP;
  T_DIMSE_N_GetRSP& get = response.msg.NGetRSP;
  get.MessageIDBeingRespondedTo = request.MessageID;
  get.DimseStatus = status;
  get.DataSetType = attributes != nullptr ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
  OFStandard::strlcpy(get.AffectedSOPClassUID, request.RequestedSOPClassUID,
                      sizeof get.AffectedSOPClassUID);
  OFStandard::strlcpy(get.AffectedSOPInstanceUID, request.RequestedSOPInstanceUID,
                      sizeof get.AffectedSOPInstanceUID);
  get.opts = O_NGET_AFFECTEDSOPCLASSUID | O_NGET_AFFECTEDSOPINSTANCEUID;
  const auto detail = error_comment.empty() ? nullptr : dicom::ErrorDetail(error_comment);
  return scp_.sendDIMSEMessage(context_id, &response, attributes, detail.get());
}

}  // namespace hokan::scp
