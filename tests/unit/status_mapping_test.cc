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
  CHECK(StatusOf(IngestStatus::kOverQuota) == 0xA700);
  CHECK(StatusOf(IngestStatus::kNotAuthorized) == 0x0124);
}

TEST_CASE("store rights are typed outcomes: may-store, then report rights") {
  using hokan::archive::CheckStoreRights;
  using hokan::archive::StoreRights;
  const std::string ct = "1.2.840.10008.5.1.4.1.1.2";
  const std::string sr = "1.2.840.10008.5.1.4.1.1.88.11";
  const std::string pdf = "1.2.840.10008.5.1.4.1.1.104.1";
  CHECK(CheckStoreRights(StoreRights{false, true, ""}, ct).status == IngestStatus::kNotAuthorized);
  CHECK(CheckStoreRights(StoreRights{true, true, ""}, sr).status == IngestStatus::kStored);
  const StoreRights no_reports{true, false, "referral"};
  CHECK(CheckStoreRights(no_reports, ct).status == IngestStatus::kStored);
  CHECK(CheckStoreRights(no_reports, pdf).status == IngestStatus::kNotAuthorized);
  const IngestResult refused = CheckStoreRights(no_reports, sr);
  CHECK(refused.status == IngestStatus::kNotAuthorized);
  CHECK(refused.message == "purpose referral may not store reports");
  CHECK(StoreStatusFor(refused) == 0x0124);
}

TEST_CASE("a refusal answers the status its contract or rule gives") {
  CHECK(StatusOf(IngestStatus::kRefused) == 0x0124);
  CHECK(StatusOf(IngestStatus::kRefused, 0x0124) == 0x0124);
  CHECK(StatusOf(IngestStatus::kRefused, 0xA7F0) == 0xA7F0);
}
