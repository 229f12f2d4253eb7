// The facility contract as the archive answers it to hokan-forward
// (dicom/facility_contract.h) and what the relay makes of it
// (scu/contract_timing.h): round trips, and bad answers refused with an
// error naming the attribute.
#include "dcmtk/config/osconfig.h"  // must come first

#include "dcmtk/dcmdata/dcdatset.h"

#include <catch2/catch.hpp>

#include "archive/common/error.h"
#include "dicom/facility_contract.h"
#include "scu/contract_timing.h"

namespace hokan {
namespace {

archive::ContractTiming Nightly() {
  archive::ContractTiming timing;
  timing.contract_id = 12;
  timing.facility = "clinic";
  timing.backup_timing = "nightly";
  timing.nightly_at_minutes = 2 * 60 + 5;
  return timing;
}

DcmDataset Encoded(const archive::ContractTiming& timing) {
  DcmDataset data_set;
  dicom::EncodeContractTiming(timing, data_set);
  return data_set;
}

DcmTagKey Private(Uint16 element) { return DcmTagKey(0x0077, element); }

}  // namespace

TEST_CASE("each backup timing survives encoding and decoding", "[contract]") {
  archive::ContractTiming on_receipt = Nightly();
  on_receipt.backup_timing = "on_receipt";
  on_receipt.nightly_at_minutes.reset();
  archive::ContractTiming per_exam = Nightly();
  per_exam.backup_timing = "per_exam";
  per_exam.nightly_at_minutes.reset();
  per_exam.exam_quiet_minutes = 45;
  for (const archive::ContractTiming& sent : {Nightly(), on_receipt, per_exam}) {
    DcmDataset data_set = Encoded(sent);
    const archive::ContractTiming got = dicom::DecodeContractTiming(data_set);
    CHECK(got.contract_id == sent.contract_id);
    CHECK(got.facility == sent.facility);
    CHECK(got.backup_timing == sent.backup_timing);
    CHECK(got.nightly_at_minutes == sent.nightly_at_minutes);
    CHECK(got.exam_quiet_minutes == sent.exam_quiet_minutes);
  }
}

TEST_CASE("a contract answer without the private creator is refused", "[contract]") {
  DcmDataset data_set = Encoded(Nightly());
  data_set.findAndDeleteElement(Private(0x0010));
  REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                      Catch::Contains("no private creator \"HOKAN CONTRACT 1\""));
}

TEST_CASE("a contract answer missing an attribute names it", "[contract]") {
  DcmDataset data_set = Encoded(Nightly());
  SECTION("backup timing") {
    data_set.findAndDeleteElement(Private(0x1003));
    REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                        Catch::Contains("(0077,1003) backup timing is missing"));
  }
  SECTION("nightly time") {
    data_set.findAndDeleteElement(Private(0x1004));
    REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                        Catch::Contains("(0077,1004) nightly time is missing"));
  }
  SECTION("contract id") {
    data_set.findAndDeleteElement(Private(0x1001));
    REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                        Catch::Contains("(0077,1001) contract id is missing"));
  }
}

TEST_CASE("a contract answer with a bad value names it", "[contract]") {
  DcmDataset data_set = Encoded(Nightly());
  SECTION("unknown backup timing") {
    data_set.putAndInsertString(DcmTag(Private(0x1003), EVR_CS), "WEEKLY");
    REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                        Catch::Contains("backup timing 'WEEKLY' is not ON_RECEIPT, NIGHTLY or "
                                        "PER_EXAM"));
  }
  SECTION("nightly time out of range") {
    data_set.putAndInsertString(DcmTag(Private(0x1004), EVR_TM), "2561");
    REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                        Catch::Contains("nightly time '2561' is not HHMM"));
  }
  SECTION("per exam without quiet minutes") {
    data_set.putAndInsertString(DcmTag(Private(0x1003), EVR_CS), "PER_EXAM");
    REQUIRE_THROWS_WITH(dicom::DecodeContractTiming(data_set),
                        Catch::Contains("(0077,1005) exam quiet minutes is missing"));
  }
}

TEST_CASE("an unknown backup timing is not encoded", "[contract]") {
  archive::ContractTiming timing = Nightly();
  timing.backup_timing = "weekly";
  DcmDataset data_set;
  REQUIRE_THROWS_WITH(dicom::EncodeContractTiming(timing, data_set),
                      Catch::Contains("unknown backup timing 'weekly'"));
}

TEST_CASE("the relay schedules by the contract's timing, not the file's", "[contract][relay]") {
  relay::RelayConfig config;  // on receipt
  const relay::EffectiveTiming contract = relay::TimingOfContract(Nightly());
  const relay::RelayConfig schedule = relay::WithTiming(config, contract);
  CHECK(schedule.timing == relay::BackupTiming::kNightly);
  REQUIRE(schedule.nightly_at);
  CHECK(schedule.nightly_at->count() == 125);
  CHECK_FALSE(relay::SameSchedule(contract, relay::FileTiming(config)));
  CHECK(relay::DescribeTiming(contract) == "nightly at 02:05 UTC");
  CHECK(relay::DescribeSource(contract) == "contract 12 (facility clinic)");
  CHECK(relay::DescribeSource(relay::FileTiming(config)) == "hokan-forward.ini");
}

}  // namespace hokan
