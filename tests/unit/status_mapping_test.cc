#include <catch2/catch.hpp>

#include "scp/status_mapping.h"

using hokan::archive::IngestStatus;
using hokan::scp::StoreStatusFor;

TEST_CASE("each ingest outcome has its C-STORE status") {
  CHECK(StoreStatusFor(IngestStatus::kStored) == 0x0000);
  CHECK(StoreStatusFor(IngestStatus::kAlreadyStored) == 0x0000);
  CHECK(StoreStatusFor(IngestStatus::kInvalidDataSet) == 0xC000);
  CHECK(StoreStatusFor(IngestStatus::kRequestMismatch) == 0xA900);
  CHECK(StoreStatusFor(IngestStatus::kDuplicateDifferentContent) == 0xC010);
  CHECK(StoreStatusFor(IngestStatus::kOutOfResources) == 0xA700);
}
