// The forwarder's pure decisions: timing modes, selection, backoff, status
// mapping, and which committed copies to purge.

#include <catch2/catch.hpp>

#include "scu/forward_schedule.h"
#include "scu/forwarder.h"
#include "scu/purge.h"

#include "archive/common/error.h"

namespace hokan::relay {
namespace {

using namespace std::chrono_literals;

TimePoint At(const std::string& utc) { return *ParseUtc(utc); }

SpoolItem Item(std::int64_t id, const std::string& study, const std::string& received) {
  SpoolItem item;
  item.id = id;
  item.sop_instance_uid = "1.2.3." + std::to_string(id);
  item.study_instance_uid = study;
  item.patient_id = "P" + std::to_string(id);
  item.modality = "CT";
  item.received_at = At(received);
  return item;
}

std::vector<std::int64_t> Ids(const std::vector<SpoolItem>& items) {
  std::vector<std::int64_t> ids;
  for (const SpoolItem& item : items) ids.push_back(item.id);
  return ids;
}

}  // namespace

TEST_CASE("LatestNightlyTime is the last nightly_at at or before now", "[relay]") {
  CHECK(LatestNightlyTime(At("2026-11-22T10:00:00Z"), 120min) == At("2026-11-22T02:00:00Z"));
  CHECK(LatestNightlyTime(At("2026-11-22T01:59:59Z"), 120min) == At("2026-11-21T02:00:00Z"));
  CHECK(LatestNightlyTime(At("2026-11-22T02:00:00Z"), 120min) == At("2026-11-22T02:00:00Z"));
  CHECK(LatestNightlyTime(At("2026-11-22T23:59:00Z"), 0min) == At("2026-11-22T00:00:00Z"));
}

TEST_CASE("NextDueInstant is the next nightly_at strictly after now", "[relay]") {
  RelayConfig config;
  config.timing = BackupTiming::kNightly;
  config.nightly_at = 120min;
  SECTION("later the same day") {
    CHECK(NextDueInstant(config, At("2026-11-22T01:59:59Z")) == At("2026-11-22T02:00:00Z"));
    CHECK(NextDueInstant(config, At("2026-11-22T00:00:00Z")) == At("2026-11-22T02:00:00Z"));
  }
  SECTION("on or after the day's boundary: the next day's") {
    CHECK(NextDueInstant(config, At("2026-11-22T02:00:00Z")) == At("2026-11-23T02:00:00Z"));
    CHECK(NextDueInstant(config, At("2026-11-22T10:00:00Z")) == At("2026-11-23T02:00:00Z"));
    CHECK(NextDueInstant(config, At("2026-12-31T23:59:59Z")) == At("2027-01-01T02:00:00Z"));
  }
  SECTION("a fraction of a second before the boundary") {
    const TimePoint boundary = At("2026-11-22T02:00:00Z");
    CHECK(NextDueInstant(config, boundary - 1ms) == boundary);
    CHECK(NextDueInstant(config, boundary + 1ms) == boundary + 24h);
  }
  SECTION("nightly at midnight rolls over to the next day") {
    config.nightly_at = 0min;
    CHECK(NextDueInstant(config, At("2026-11-22T23:59:30Z")) == At("2026-11-23T00:00:00Z"));
    CHECK(NextDueInstant(config, At("2026-11-23T00:00:00Z")) == At("2026-11-24T00:00:00Z"));
  }
  SECTION("none without nightly_at or under the other timings") {
    config.nightly_at.reset();
    CHECK_FALSE(NextDueInstant(config, At("2026-11-22T10:00:00Z")));
    config.nightly_at = 120min;
    config.timing = BackupTiming::kOnReceipt;
    CHECK_FALSE(NextDueInstant(config, At("2026-11-22T01:59:59Z")));
    config.timing = BackupTiming::kPerExam;
    CHECK_FALSE(NextDueInstant(config, At("2026-11-22T01:59:59Z")));
  }
}

TEST_CASE("WaitBeforeNextRound: the poll, or less up to the due instant", "[relay]") {
  RelayConfig config;
  config.timing = BackupTiming::kNightly;
  config.nightly_at = 120min;
  config.poll_interval = 1s;
  const TimePoint boundary = At("2026-11-22T02:00:00Z");
  CHECK(WaitBeforeNextRound(config, boundary - 250ms) == 250ms);
  CHECK(WaitBeforeNextRound(config, boundary - 1s) == 1s);
  CHECK(WaitBeforeNextRound(config, boundary - 5s) == 1s);
  CHECK(WaitBeforeNextRound(config, boundary) == 1s);
  // Rounded up, never to a round just before the boundary.
  CHECK(WaitBeforeNextRound(config, boundary - std::chrono::nanoseconds(1500)) == 2us);
  config.poll_interval = 60s;
  CHECK(WaitBeforeNextRound(config, boundary - 30s) == 30s);
  config.timing = BackupTiming::kPerExam;
  CHECK(WaitBeforeNextRound(config, boundary - 30s) == 60s);
  config.timing = BackupTiming::kOnReceipt;
  CHECK(WaitBeforeNextRound(config, boundary - 250ms) == 60s);
  config.timing = BackupTiming::kNightly;
  config.nightly_at.reset();
  CHECK(WaitBeforeNextRound(config, boundary - 250ms) == 60s);
}

// `studies` studies of `per_study` instances each, interleaved as they arrived.
std::vector<SpoolItem> Studies(int studies, int per_study) {
  std::vector<SpoolItem> items;
  for (int i = 0; i < per_study; ++i) {
    for (int s = 0; s < studies; ++s) {
      items.push_back(Item(static_cast<std::int64_t>(i) * studies + s, "S" + std::to_string(s),
                           "2026-11-22T10:00:00Z"));
    }
  }
  return items;
}

std::vector<std::size_t> Sizes(const std::vector<std::vector<SpoolItem>>& batches) {
  std::vector<std::size_t> sizes;
  for (const auto& batch : batches) sizes.push_back(batch.size());
  return sizes;
}

TEST_CASE("SplitIntoBatches keeps studies together in equal parts, several per association",
          "[relay]") {
  SECTION("20 studies of 100 over 4 associations: one batch per study") {
    const auto batches = SplitIntoBatches(Studies(20, 100), 4);
    CHECK(Sizes(batches) == std::vector<std::size_t>(20, 100));
    for (const auto& batch : batches) {
      for (const SpoolItem& item : batch) {
        CHECK(item.study_instance_uid == batch.front().study_instance_uid);
      }
    }
  }
  SECTION("20 studies of 100 over 8 associations: two equal batches per study") {
    const auto batches = SplitIntoBatches(Studies(20, 100), 8);
    CHECK(Sizes(batches) == std::vector<std::size_t>(40, 50));
    // In arrival order within a study.
    CHECK(batches[0].front().id == 0);
    CHECK(batches[0][1].id == 20);
    CHECK(batches[1].front().id == 50 * 20);
  }
  SECTION("a small study is not cut below the minimum") {
    CHECK(Sizes(SplitIntoBatches(Studies(1, 25), 2)) == std::vector<std::size_t>{9, 9, 7});
    CHECK(Sizes(SplitIntoBatches(Studies(1, 8), 4)) == std::vector<std::size_t>{8});
  }
  SECTION("a big backlog is cut at the maximum") {
    const auto batches = SplitIntoBatches(Studies(1, 5000), 1);
    CHECK(Sizes(batches) == std::vector<std::size_t>(10, kMaxBatchItems));
  }
  SECTION("nothing due, no batch") { CHECK(SplitIntoBatches({}, 4).empty()); }
}

TEST_CASE("DueByTiming per mode", "[relay]") {
  const std::vector<SpoolItem> items = {Item(1, "S1", "2026-11-21T20:00:00Z"),
                                        Item(2, "S1", "2026-11-22T01:00:00Z"),
                                        Item(3, "S2", "2026-11-22T03:00:00Z")};
  RelayConfig config;
  const TimePoint now = At("2026-11-22T04:00:00Z");

  SECTION("on receipt: everything") {
    config.timing = BackupTiming::kOnReceipt;
    CHECK(Ids(DueByTiming(items, config, now, false, {})) == std::vector<std::int64_t>{1, 2, 3});
  }
  SECTION("nightly: what came before the latest nightly time") {
    config.timing = BackupTiming::kNightly;
    config.nightly_at = 120min;
    CHECK(Ids(DueByTiming(items, config, now, false, {})) == std::vector<std::int64_t>{1, 2});
    // Before the 22nd's nightly time, the latest one (the 21st's) preceded them all.
    CHECK(DueByTiming(items, config, At("2026-11-22T01:30:00Z"), false, {}).empty());
  }
  SECTION("nightly without nightly_at: nothing, unless low space") {
    config.timing = BackupTiming::kNightly;
    CHECK(DueByTiming(items, config, now, false, {}).empty());
    CHECK(DueByTiming(items, config, now, true, {}).size() == 3);
  }
  SECTION("per exam: the quiet studies") {
    config.timing = BackupTiming::kPerExam;
    CHECK(Ids(DueByTiming(items, config, now, false, {"S2"})) == std::vector<std::int64_t>{3});
    CHECK(DueByTiming(items, config, now, false, {}).empty());
  }
  SECTION("low space: everything whatever the mode") {
    config.timing = BackupTiming::kPerExam;
    CHECK(DueByTiming(items, config, now, true, {}).size() == 3);
  }
}

TEST_CASE("NotKeptReason honours opt-out and modality selection", "[relay]") {
  SpoolItem item = Item(1, "S1", "2026-11-22T01:00:00Z");
  CHECK_FALSE(NotKeptReason(item, {}, {}));
  CHECK_FALSE(NotKeptReason(item, {"OTHER"}, {"CT", "MR"}));
  auto opted_out = NotKeptReason(item, {"P1"}, {});
  REQUIRE(opted_out);
  CHECK(opted_out->rfind("not kept by the contract: ", 0) == 0);
  auto not_selected = NotKeptReason(item, {}, {"MR"});
  REQUIRE(not_selected);
  CHECK(not_selected->find("modality 'CT'") != std::string::npos);
}

TEST_CASE("RetryDelay doubles up to retry_max with +-20 % jitter", "[relay]") {
  CHECK(RetryDelay(1, 5s, 600s, 0.5) == 5000ms);
  CHECK(RetryDelay(2, 5s, 600s, 0.5) == 10000ms);
  CHECK(RetryDelay(4, 5s, 600s, 0.5) == 40000ms);
  CHECK(RetryDelay(20, 5s, 600s, 0.5) == 600000ms);
  CHECK(RetryDelay(1, 5s, 600s, 0.0) == 4000ms);
  CHECK(RetryDelay(1, 5s, 600s, 1.0) == 6000ms);
  CHECK(RetryDelay(1000, 5s, 600s, 1.0) == 720000ms);
}

TEST_CASE("OutcomeOfStatus maps C-STORE statuses", "[relay]") {
  struct Row { std::uint16_t status; SendOutcome outcome; };
  for (const Row& row : {Row{0x0000, SendOutcome::kSent}, Row{0xB000, SendOutcome::kSent},
                         Row{0xB007, SendOutcome::kSent}, Row{0xA700, SendOutcome::kRetry},
                         Row{0xA7FF, SendOutcome::kRetry}, Row{0xA900, SendOutcome::kPark},
                         Row{0xC000, SendOutcome::kPark}, Row{0xC010, SendOutcome::kPark},
                         Row{0x0124, SendOutcome::kPark}, Row{0x0110, SendOutcome::kPark}}) {
    INFO("status " << row.status);
    CHECK(OutcomeOfStatus(row.status) == row.outcome);
  }
  CHECK(OutcomeOfOpenFailure("cannot associate with A@h:1: Connection refused") ==
        SendOutcome::kRetry);
  CHECK(OutcomeOfOpenFailure("Association Rejected: rejected-permanent") == SendOutcome::kPark);
}

TEST_CASE("ItemsToPurge frees only committed copies", "[relay]") {
  auto committed = [](std::int64_t id, const std::string& at, std::int64_t size) {
    SpoolItem item = Item(id, "S", "2026-11-01T00:00:00Z");
    item.state = ItemState::kCommitted;
    item.committed_at = At(at);
    item.size_bytes = size;
    return item;
  };
  SpoolItem sent = Item(9, "S", "2026-11-01T00:00:00Z");
  sent.state = ItemState::kSent;
  sent.size_bytes = 1000;
  const TimePoint now = At("2026-11-22T00:00:00Z");
  const std::vector<SpoolItem> items = {committed(1, "2026-11-20T00:00:00Z", 100),
                                        committed(2, "2026-11-10T00:00:00Z", 100),
                                        committed(3, "2026-11-21T12:00:00Z", 100), sent};
  SECTION("older than keep_days") {
    CHECK(Ids(ItemsToPurge(items, 7, now, 1 << 30, 0)) == std::vector<std::int64_t>{2});
    CHECK(Ids(ItemsToPurge(items, 0, now, 1 << 30, 0)) ==
          std::vector<std::int64_t>{2, 1, 3});
  }
  SECTION("under the watermark: oldest committed first until above it") {
    CHECK(Ids(ItemsToPurge(items, 30, now, 850, 1000)) == std::vector<std::int64_t>{2, 1});
    CHECK(Ids(ItemsToPurge(items, 30, now, 0, 1 << 30)) ==
          std::vector<std::int64_t>{2, 1, 3});
  }
}

TEST_CASE("ParsePeerAddresses", "[relay]") {
  const auto addresses = ParsePeerAddresses(" CT1@10.0.0.5:104 , MR_2@mr.local:11112");
  REQUIRE(addresses.size() == 2);
  CHECK(addresses[0].ae_title == "CT1");
  CHECK(addresses[0].host == "10.0.0.5");
  CHECK(addresses[0].port == 104);
  CHECK(addresses[1].ae_title == "MR_2");
  CHECK(ParsePeerAddresses("").empty());
  CHECK_THROWS_AS(ParsePeerAddresses("CT1@host"), Error);
  CHECK_THROWS_AS(ParsePeerAddresses("CT1@host:0"), Error);
  CHECK_THROWS_AS(ParsePeerAddresses("@host:104"), Error);
  CHECK_THROWS_AS(ParsePeerAddresses("CT1@host:10x"), Error);
}

}  // namespace hokan::relay
