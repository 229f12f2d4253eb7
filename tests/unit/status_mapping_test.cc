#include <catch2/catch.hpp>

#include "scp/status_mapping.h"

using hokan::archive::IngestResult;
using hokan::archive::IngestStatus;
using hokan::scp::StoreStatusFor;

namespace {

std::uint16_t StatusOf(IngestStatus status, std::uint16_t refusal_status = 0) {
  return StoreStatusFor(IngestResult{status, "", refusal_status});
}

}  // namespace

TEST_CASE("each ingest outcome has its C-STORE status") {
  CHECK(StatusOf(IngestStatus::kStored) == 0x0000);
  CHECK(StatusOf(IngestStatus::kAlreadyStored) == 0x0000);
  CHECK(StatusOf(IngestStatus::kInvalidDataSet) == 0xC000);
  CHECK(StatusOf(IngestStatus::kRequestMismatch) == 0xA900);
  CHECK(StatusOf(IngestStatus::kDuplicateDifferentContent) == 0xC010);
  CHECK(StatusOf(IngestStatus::kOutOfResources) == 0xA700);
}

TEST_CASE("a refusal answers the status its contract or rule gives") {
  CHECK(StatusOf(IngestStatus::kRefused) == 0x0124);
  CHECK(StatusOf(IngestStatus::kRefused, 0x0124) == 0x0124);
  CHECK(StatusOf(IngestStatus::kRefused, 0xA7F0) == 0xA7F0);
}
