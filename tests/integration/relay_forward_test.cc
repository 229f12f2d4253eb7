// Forwarding of hokan-forward to a real hokan-archive: each timing mode on a
// controlled clock, commitment before purge, the archive down then up, kill
// -9 of the relay while forwarding, a study the archive refuses by rule.
// Asserts what a user sees: the archive's index (psql), the relay's
// `hokan-forward status`, spool files on disk and log lines.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/relay_process.h"

namespace hokan::integration {
namespace {

constexpr const char* kRelayAe = "FWD_RELAY";
constexpr const char* kModalityAe = "FWD_CT";
constexpr auto kDeadline = 90s;

// The archive knows the relay as a store AE and, unless told otherwise, as
// the address of its commitment reports.
ArchiveOptions ArchiveFor(std::uint16_t relay_port, bool report_address = true) {
  ArchiveOptions options = SingleFacilityOptions(kRelayAe);
  if (report_address) {
    options.extra_facility_lines = {
        fmt::format("report_destinations = {}@127.0.0.1:{}", kRelayAe, relay_port)};
  }
  return options;
}

RelayOptions RelayFor(const ArchiveProcess& archive, std::vector<std::string> timing,
                      bool controlled_clock = false) {
  RelayOptions options;
  options.ae_title = kRelayAe;
  options.modality_ae_titles = {kModalityAe};
  options.archive_ae_title = archive.ae_title();
  options.archive_port = archive.port();
  timing.push_back("low_space_watermark_bytes = 1");
  timing.push_back("retry_initial_seconds = 1");
  timing.push_back("retry_max_seconds = 2");
  options.settings = {{"timing", timing}, {"archive", {"parallel_associations = 2"}}};
  options.controlled_clock = controlled_clock;
  return options;
}

std::int64_t ArchivedInstances(ArchiveProcess& archive) {
  return archive.sql().Count("SELECT count(*) FROM instances");
}

void StoreToRelay(const RelayProcess& relay, const std::vector<GeneratedInstance>& instances) {
  const ToolResult stored = relay.StoreScu(kModalityAe, {}, PathsOf(instances));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
}

// A Part 10 file's bytes after its meta header (whose group length says
// where it ends).
std::string DataSetBytes(const fs::path& file) {
  const std::string bytes = ReadFileBytes(file);
  REQUIRE(bytes.size() > 144);
  REQUIRE(bytes.compare(128, 4, "DICM") == 0);
  std::size_t meta_length = 0;
  for (int i = 3; i >= 0; --i) {
    meta_length = meta_length << 8 | static_cast<unsigned char>(bytes[140 + i]);
  }
  return bytes.substr(144 + meta_length);
}

}  // namespace

TEST_CASE("on receipt: forwarded, committed by the archive, then purged (keep_days 0)",
          "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto study = MakeStudy(data.path() / "s", {"--count", "3", "--patient-id", "FWD-1"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}));
  relay.UsePort(relay_port);
  relay.Start();

  StoreToRelay(relay, study);
  REQUIRE(WaitUntil([&] { return ArchivedInstances(archive) == 3; }, kDeadline, 100ms));
  INFO(relay.Log());
  REQUIRE(WaitUntil([&] { return relay.CountInState("purged") == 3; }, kDeadline, 100ms));
  for (const RelayItem& item : relay.Items()) CHECK_FALSE(fs::exists(item.file));
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_requests") >= 1);
  const std::string log = relay.Log();
  // One line per batch (instances arriving one by one go in several).
  CHECK(log.find("to HOKAN_IT@localhost:" + std::to_string(archive.port()) + " (on receipt)") !=
        std::string::npos);
  CHECK(log.find("committed, 0 failed") != std::string::npos);
  CHECK(log.find("committed instances from the spool (keep_days 0)") != std::string::npos);
}

TEST_CASE("commitment before purge: sent but not committed stays on disk",
          "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto study = MakeStudy(data.path() / "s", {"--count", "2", "--patient-id", "FWD-2"});
  // No report address for the relay: the archive refuses its N-ACTION (0x0110).
  ArchiveProcess archive(ArchiveFor(0, /*report_address=*/false));
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}));
  relay.Start();

  StoreToRelay(relay, study);
  REQUIRE(WaitUntil([&] { return ArchivedInstances(archive) == 2; }, kDeadline, 100ms));
  INFO(relay.Log());
  REQUIRE(WaitUntil(
      [&] {
        return relay.CountInState("sent") == 2 &&
               relay.Log().find("not requested from HOKAN_IT@localhost:" +
                                std::to_string(archive.port()) + ": N-ACTION answered 0x0110") !=
                   std::string::npos;
      },
      kDeadline, 100ms));
  const auto items = relay.Items();
  REQUIRE(items.size() == 2);
  for (const RelayItem& item : items) {
    CHECK(item.state == "sent");
    CHECK(fs::exists(item.file));
  }
  const ToolResult status = relay.Status();
  CHECK(status.output.find("sent 2") != std::string::npos);
}

TEST_CASE("nightly: nothing before nightly_at, everything of the day after it",
          "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto study = MakeStudy(data.path() / "s", {"--count", "2", "--patient-id", "FWD-3"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  RelayProcess relay(
      RelayFor(archive, {"mode = nightly", "nightly_at = 02:00", "keep_days = 7"}, true));
  relay.SetClock("2026-11-22T10:00:00Z");
  relay.UsePort(relay_port);
  relay.Start();

  StoreToRelay(relay, study);
  // The relay says how many wait at most once a minute: a minute later it
  // has seen both.
  relay.SetClock("2026-11-22T10:02:00Z");
  INFO(relay.Log());
  REQUIRE(WaitUntil(
      [&] {
        return relay.Log().find("2 instances wait for the nightly forwarding at 02:00 UTC") !=
               std::string::npos;
      },
      kDeadline, 100ms));
  CHECK(ArchivedInstances(archive) == 0);
  CHECK(relay.CountInState("spooled") == 2);

  relay.SetClock("2026-11-23T02:00:01Z");
  REQUIRE(WaitUntil([&] { return ArchivedInstances(archive) == 2; }, kDeadline, 100ms));
  REQUIRE(WaitUntil([&] { return relay.CountInState("committed") == 2; }, kDeadline, 100ms));
  // keep_days 7: committed copies stay for now.
  for (const RelayItem& item : relay.Items()) {
    REQUIRE(fs::exists(item.file));
    // The data set went as spooled, byte for byte (streamed from the file).
    const fs::path stored = archive.storage_root() /
        archive.sql().Value("SELECT relative_path FROM instances WHERE sop_instance_uid = $1",
                            {item.sop_instance_uid});
    CHECK(DataSetBytes(stored) == DataSetBytes(item.file));
  }
  CHECK(relay.Log().find("(nightly)") != std::string::npos);
}

TEST_CASE("per exam: a study goes once it has been quiet for exam_quiet", "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto first = MakeStudy(data.path() / "a", {"--count", "2", "--patient-id", "FWD-4"});
  const auto second = MakeStudy(data.path() / "b", {"--count", "1", "--patient-id", "FWD-5"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  RelayProcess relay(
      RelayFor(archive, {"mode = per_exam", "exam_quiet_minutes = 30", "keep_days = 7"}, true));
  relay.SetClock("2026-11-22T10:00:00Z");
  relay.UsePort(relay_port);
  relay.Start();

  StoreToRelay(relay, first);
  relay.SetClock("2026-11-22T10:20:00Z");
  StoreToRelay(relay, second);
  relay.SetClock("2026-11-22T10:22:00Z");  // a minute later: the wait note counts all three
  INFO(relay.Log());
  REQUIRE(WaitUntil(
      [&] {
        return relay.Log().find("3 instances wait until their study has been quiet for 30 min") !=
               std::string::npos;
      },
      kDeadline, 100ms));
  CHECK(ArchivedInstances(archive) == 0);

  // 10:35: the first study has been quiet for 35 min, the second for 15.
  relay.SetClock("2026-11-22T10:35:00Z");
  REQUIRE(WaitUntil([&] { return ArchivedInstances(archive) == 2; }, kDeadline, 100ms));
  REQUIRE(WaitUntil(
      [&] {
        return relay.Log().find("1 instances wait until their study has been quiet") !=
               std::string::npos;
      },
      kDeadline, 100ms));
  CHECK(ArchivedInstances(archive) == 2);
  CHECK(relay.CountInState("spooled") == 1);

  relay.SetClock("2026-11-22T10:51:00Z");
  REQUIRE(WaitUntil([&] { return ArchivedInstances(archive) == 3; }, kDeadline, 100ms));
}

TEST_CASE("archive down, then up: retries deliver everything exactly once",
          "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto study = MakeStudy(data.path() / "s", {"--count", "4", "--patient-id", "FWD-6"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  archive.Stop();
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}));
  relay.UsePort(relay_port);
  relay.Start();

  StoreToRelay(relay, study);
  INFO(relay.Log());
  REQUIRE(WaitUntil(
      [&] { return relay.Log().find("next attempt in about") != std::string::npos; }, kDeadline,
      100ms));
  const ToolResult status = relay.Status();
  CHECK(status.exit_code == 0);

  archive.Start();
  REQUIRE(WaitUntil([&] { return relay.CountInState("purged") == 4; }, kDeadline, 100ms));
  CHECK(ArchivedInstances(archive) == 4);
  CHECK(archive.sql().Count("SELECT count(DISTINCT sop_instance_uid) FROM instances") == 4);
}

TEST_CASE("kill -9 of the relay while forwarding: each instance once in the archive",
          "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto study = MakeStudy(data.path() / "s", {"--count", "60", "--patient-id", "FWD-7",
                                                   "--rows", "256", "--columns", "256"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  archive.Stop();  // spool everything first, then forward while we kill
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}));
  relay.UsePort(relay_port);
  relay.Start();
  StoreToRelay(relay, study);
  archive.Start();

  INFO(relay.Log());
  REQUIRE(WaitUntil([&] { return ArchivedInstances(archive) >= 1; }, kDeadline, 20ms));
  relay.Kill();
  const std::int64_t at_kill = ArchivedInstances(archive);
  relay.Start();
  REQUIRE(WaitUntil([&] { return relay.CountInState("purged") == 60; }, kDeadline, 100ms));
  CHECK(ArchivedInstances(archive) == 60);
  CHECK(archive.sql().Count("SELECT count(DISTINCT sop_instance_uid) FROM instances") == 60);
  UNSCOPED_INFO("instances in the archive when the relay was killed: " << at_kill);
}

TEST_CASE("a study the archive refuses by rule is parked and listed", "[relay][forward]") {
  TempDir data("hokan-it-forward");
  const auto mr = MakeStudy(data.path() / "mr",
                            {"--count", "2", "--patient-id", "FWD-8", "--modality", "MR"});
  const auto ct = MakeStudy(data.path() / "ct", {"--count", "1", "--patient-id", "FWD-9"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  archive.sql().Execute(
      "INSERT INTO storage_rules (facility_id, position, name, modality, action, reject_status, "
      "created_by, created_at) SELECT id, 1, 'no MR', 'MR', 'reject', 292, 'test', $1 "
      "FROM facilities",
      {archive.ClockNow()});
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}));
  relay.UsePort(relay_port);
  relay.Start();

  StoreToRelay(relay, mr);
  StoreToRelay(relay, ct);
  INFO(relay.Log());
  REQUIRE(WaitUntil([&] { return relay.CountInState("parked") == 2; }, kDeadline, 100ms));
  REQUIRE(WaitUntil([&] { return relay.CountInState("purged") == 1; }, kDeadline, 100ms));
  CHECK(ArchivedInstances(archive) == 1);
  const ToolResult status = relay.Status();
  INFO(status.Describe());
  CHECK(status.output.find("parked failures: 2") != std::string::npos);
  CHECK(status.output.find("0x0124") != std::string::npos);
  for (const auto& instance : mr) {
    CHECK(status.output.find(instance.sop_instance_uid) != std::string::npos);
  }
  // Parked copies are never purged.
  for (const RelayItem& item : relay.Items()) {
    if (item.state == "parked") CHECK(fs::exists(item.file));
  }
}

}  // namespace hokan::integration
