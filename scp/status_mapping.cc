#include "scp/status_mapping.h"

namespace hokan::scp {

std::uint16_t StoreStatusFor(archive::IngestStatus status) {
  using archive::IngestStatus;
  switch (status) {
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
