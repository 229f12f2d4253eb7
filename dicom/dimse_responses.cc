#include "dicom/dimse_responses.h"

#include <cstring>

#include "dcmtk/dcmdata/dcdeftag.h"

namespace hokan::dicom {

std::unique_ptr<DcmDataset> ErrorDetail(const std::string& error_comment) {
  std::string comment = error_comment.substr(0, 64);
  for (char& c : comment) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  auto detail = std::make_unique<DcmDataset>();
  detail->putAndInsertString(DCM_ErrorComment, comment.c_str());
  return detail;
}

T_DIMSE_Message ActionResponse(const T_DIMSE_N_ActionRQ& request, std::uint16_t status) {
  T_DIMSE_Message response;
  std::memset(&response, 0, sizeof(response));
  response.CommandField = DIMSE_N_ACTION_RSP;
  T_DIMSE_N_ActionRSP& action = response.msg.NActionRSP;
  action.MessageIDBeingRespondedTo = request.MessageID;
  action.DimseStatus = status;
  action.DataSetType = DIMSE_DATASET_NULL;
  action.opts = O_NACTION_AFFECTEDSOPCLASSUID | O_NACTION_AFFECTEDSOPINSTANCEUID;
  OFStandard::strlcpy(action.AffectedSOPClassUID, request.RequestedSOPClassUID,
                      sizeof(action.AffectedSOPClassUID));
  OFStandard::strlcpy(action.AffectedSOPInstanceUID, request.RequestedSOPInstanceUID,
                      sizeof(action.AffectedSOPInstanceUID));
  return response;
}

}  // namespace hokan::dicom
