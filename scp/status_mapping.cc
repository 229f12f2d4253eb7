#include "scp/status_mapping.h"
#include "dicom/dimse_status.h"

namespace hokan::scp {

std::uint16_t StoreStatusFor(const archive::IngestResult& result) {
  using archive::IngestStatus;
  switch (result.status) {
    case IngestStatus::kRefused:
      return result.refusal_status != 0 ? result.refusal_status : archive::kRefusedNotAuthorized;
    case IngestStatus::kStored:
    case IngestStatus::kAlreadyStored:
      return dicom::status::kSuccess;
    case IngestStatus::kInvalidDataSet:
      return dicom::status::kCannotUnderstand;
    case IngestStatus::kRequestMismatch:
      return dicom::status::kDoesNotMatchSopClass;
    case IngestStatus::kDuplicateDifferentContent:
      return dicom::status::kDuplicateDifferentContent;
    case IngestStatus::kOutOfResources:
    case IngestStatus::kOverQuota:
      return dicom::status::kOutOfResources;
    case IngestStatus::kNotAuthorized:
      return dicom::status::kRefusedNotAuthorized;
  }
  return dicom::status::kOutOfResources;
}

}  // namespace hokan::scp
