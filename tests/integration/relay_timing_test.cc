// The facility contract decides hokan-forward's backup timing (issue 14
// item 7): the relay asks the archive (N-GET of the hokan Facility
// Contract SOP class), follows the contract's timing and warns when the
// file says otherwise; it falls back to its file while the archive cannot
// be asked and learns the contract once it answers; a caller that may not
// store, or one of another facility, never gets the contract. Asserts the
// relay's log and `hokan-forward status`, the archive's log and index.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <string>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/relay_process.h"

namespace hokan::integration {
namespace {

constexpr const char* kRelayAe = "TIMING_RELAY";
constexpr const char* kModalityAe = "TIMING_CT";
constexpr auto kDeadline = 60s;

// "HH:MM" twelve hours from now (UTC): nightly forwarding is far off.
std::string FarNightlyTime() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("{:02}:{:02}", (utc.tm_hour + 12) % 24, utc.tm_min);
}

// The facility's contract in effect becomes `timing` (nightly_at or
// exam_quiet_minutes as it requires).
void SetContractTiming(ArchiveProcess& archive, const std::string& facility,
                       const std::string& timing, const std::string& nightly_at,
                       const std::string& exam_quiet_minutes) {
  archive.sql().Execute(
      "UPDATE contracts SET backup_timing = $2, nightly_at = NULLIF($3, '')::time, "
      "       exam_quiet_minutes = NULLIF($4, '')::int "
      " WHERE superseded_at IS NULL "
      "   AND facility_id = (SELECT id FROM facilities WHERE name = $1)",
      {facility, timing, nightly_at, exam_quiet_minutes});
}

std::string ContractId(ArchiveProcess& archive, const std::string& facility) {
  return archive.sql().Value(
      "SELECT c.id FROM contracts c JOIN facilities f ON f.id = c.facility_id "
      " WHERE f.name = $1 AND c.superseded_at IS NULL",
      {facility});
}

RelayOptions RelayFor(const ArchiveProcess& archive, const std::string& ae_title,
                      int refresh_seconds) {
  RelayOptions options;
  options.ae_title = ae_title;
  options.modality_ae_titles = {kModalityAe};
  options.archive_ae_title = archive.ae_title();
  options.archive_port = archive.port();
  options.settings = {
      {"timing", {"mode = on_receipt", "low_space_watermark_bytes = 1"}},
      {"archive", {fmt::format("contract_refresh_seconds = {}", refresh_seconds)}}};
  return options;
}

bool LogHas(const RelayProcess& relay, const std::string& text) {
  return relay.Log().find(text) != std::string::npos;
}

std::size_t Occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("the relay follows the contract's nightly timing over its file's on receipt",
          "[relay][timing]") {
  ArchiveProcess archive(SingleFacilityOptions(kRelayAe));
  const std::string nightly_at = FarNightlyTime();
  SetContractTiming(archive, "clinic", "nightly", nightly_at, "");
  const std::string contract_id = ContractId(archive, "clinic");

  RelayProcess relay(RelayFor(archive, kRelayAe, 600));
  relay.Start();
  const std::string contract = fmt::format("contract {} (facility clinic)", contract_id);
  const std::string mismatch = fmt::format(
      "{} says nightly at {} UTC, hokan-forward.ini says on receipt; following the contract",
      contract, nightly_at);
  REQUIRE(WaitUntil([&] { return LogHas(relay, mismatch); }, kDeadline));
  INFO(relay.Log());
  CHECK(LogHas(relay, fmt::format("backup timing nightly at {} UTC from {}", nightly_at,
                                  contract)));

  const ToolResult status = relay.Status();
  INFO(status.Describe());
  REQUIRE(status.exit_code == 0);
  CHECK(status.output.find(fmt::format("timing: nightly at {} UTC from {}", nightly_at,
                                    contract)) != std::string::npos);
  CHECK(status.output.find("timing in hokan-forward.ini: on receipt (not followed)") !=
        std::string::npos);

  // Stored now, the instance waits for the night instead of going at once.
  TempDir data("hokan-it-timing");
  const auto study = MakeStudy(data.path() / "s", {"--count", "1", "--patient-id", "TIM-1"});
  const ToolResult stored = relay.StoreScu(kModalityAe, {}, PathsOf(study));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  REQUIRE(WaitUntil(
      [&] {
        return LogHas(relay, fmt::format("1 instances wait for the nightly forwarding at {} UTC",
                                         nightly_at));
      },
      kDeadline));
  CHECK(relay.CountInState("spooled") == 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
}

TEST_CASE("the archive down at start: the file's timing, then the contract's once it answers",
          "[relay][timing]") {
  ArchiveProcess archive(SingleFacilityOptions(kRelayAe));
  archive.Stop();
  SetContractTiming(archive, "clinic", "per_exam", "", "7");
  const std::string contract_id = ContractId(archive, "clinic");

  RelayProcess relay(RelayFor(archive, kRelayAe, 1));
  relay.Start();
  const std::string fallback = "falling back to the timing of hokan-forward.ini: on receipt";
  REQUIRE(WaitUntil([&] { return LogHas(relay, fallback); }, kDeadline));
  {
    const ToolResult status = relay.Status();
    INFO(status.Describe());
    CHECK(status.output.find("timing: on receipt from hokan-forward.ini") != std::string::npos);
    CHECK(status.output.find("contract: last asked") != std::string::npos);
  }

  archive.Start();
  const std::string learned = fmt::format(
      "backup timing per exam after 7 min quiet from contract {} (facility clinic)", contract_id);
  REQUIRE(WaitUntil([&] { return LogHas(relay, learned); }, kDeadline));
  const std::string log = relay.Log();
  INFO(log);
  CHECK(Occurrences(log, "cannot learn the backup timing from the archive") == 1);
  CHECK(log.find("hokan-forward.ini says on receipt; following the contract") !=
        std::string::npos);
  const ToolResult status = relay.Status();
  INFO(status.Describe());
  CHECK(status.output.find(fmt::format("timing: per exam after 7 min quiet from contract {}",
                                       contract_id)) != std::string::npos);

  // Restarted while the archive is down, the relay keeps the contract's
  // timing it remembered rather than its file's.
  REQUIRE(relay.Stop() == 0);
  archive.Stop();
  relay.Start();
  REQUIRE(WaitUntil(
      [&] {
        const std::string now_log = relay.Log();
        return Occurrences(now_log, "cannot learn the backup timing from the archive") == 2;
      },
      kDeadline));
  const std::string restarted = relay.Log();
  CHECK(Occurrences(restarted, learned + " (remembered from") == 1);
  CHECK(restarted.find(fmt::format("falling back to the timing of contract {} (facility "
                                   "clinic): per exam after 7 min quiet",
                                   contract_id)) != std::string::npos);
}

TEST_CASE("only a storing AE of the facility gets its contract", "[relay][timing]") {
  ArchiveOptions options = SingleFacilityOptions(kRelayAe);
  options.facilities.front().query_ae_titles = {"TIMING_VIEWER"};
  FacilitySpec other{"other", {"OTHER_RELAY"}, {}, {}};
  other.provision_contract = false;
  options.facilities.push_back(other);
  ArchiveProcess archive(options);
  SetContractTiming(archive, "clinic", "nightly", FarNightlyTime(), "");

  SECTION("a query-only AE of the facility") {
    RelayProcess relay(RelayFor(archive, "TIMING_VIEWER", 600));
    relay.Start();
    REQUIRE(WaitUntil([&] { return LogHas(relay, "falling back"); }, kDeadline));
    INFO(relay.Log());
    CHECK(LogHas(relay, "the archive answered 0x0124"));
    CHECK_FALSE(LogHas(relay, "from contract"));
    CHECK(archive.Log().find("facility contract N-GET from TIMING_VIEWER answered 0x0124") !=
          std::string::npos);
    const ToolResult status = relay.Status();
    CHECK(status.output.find("timing: on receipt from hokan-forward.ini") != std::string::npos);
  }
  SECTION("a storing AE of another facility, which has no contract") {
    RelayProcess relay(RelayFor(archive, "OTHER_RELAY", 600));
    relay.Start();
    REQUIRE(WaitUntil([&] { return LogHas(relay, "falling back"); }, kDeadline));
    INFO(relay.Log());
    CHECK(LogHas(relay, "the archive answered 0x0112 (facility other has no contract in "
                        "effect)"));
    CHECK_FALSE(LogHas(relay, "from contract"));
  }
}

}  // namespace hokan::integration
