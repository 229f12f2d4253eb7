#include "scp/status_mapping.h"

namespace hokan::scp {

std::uint16_t StoreStatusFor(const archive::IngestResult& result) {
  using archive::IngestStatus;
  switch (result.status) {
    case IngestStatus::kRefused:
      return result.refusal_status != 0 ? result.refusal_status : archive::kRefusedNotAuthorized;
    case IngestStatus::kStored:
    case IngestStatus::kAlreadyStored:
      return kStatusSuccess;
    case IngestStatus::kInvalidDataSet:
      return kStatusCannotUnderstand;
    case IngestStatus::kRequestMismatch:
      return kStatusDataSetDoesNotMatchSopClass;
    case IngestStatus::kDuplicateDifferentContent:
      return kStatusDuplicateDifferentContent;
    case IngestStatus::kOutOfResources:
      return kStatusOutOfResources;
  }
  return kStatusOutOfResources;
}

}  // namespace hokan::scp
