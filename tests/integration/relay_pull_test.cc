// Pull mode of hokan-forward: a second hokan-archive plays the facility's
// own PACS; the relay C-FINDs it every pull_interval (by its controllable
// clock) and C-MOVEs each new study to itself, then forwards on receipt to
// the real archive. Asserts what a user sees: the archive's index, the
// PACS's C-MOVE log lines and the relay's per-sync log lines.

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/relay_process.h"

namespace hokan::integration {
namespace {

constexpr const char* kRelayAe = "PULL_RELAY";
constexpr const char* kPacsAe = "CLINIC_PACS";
constexpr int kIntervalSeconds = 3600;
// What the PACS (hokan-archive) logs for each C-MOVE the relay asks for.
constexpr const char* kMoveLogLine = "C-MOVE to PULL_RELAY from PULL_RELAY at STUDY level";

// The facility PACS: a hokan-archive where the relay may query and which
// knows the relay as a C-MOVE destination.
ArchiveOptions PacsOptions(std::uint16_t relay_port) {
  ArchiveOptions options;
  options.ae_title = kPacsAe;
  options.facilities = {{"clinic", {"PACS_MODALITY"}, {}, {kRelayAe}}};
  options.extra_facility_lines = {std::string("move_destinations = ") + kRelayAe +
                                  "@127.0.0.1:" + std::to_string(relay_port)};
  return options;
}

// The relay: forwards on receipt to `archive`, pulls from `pacs` every
// kIntervalSeconds, on `port` (the PACS's move destination), on a
// controlled clock.
RelayOptions PullRelayOptions(const ArchiveProcess& archive, const ArchiveProcess& pacs,
                              std::uint16_t port) {
  RelayOptions options;
  options.ae_title = kRelayAe;
  options.port = port;
  options.archive_ae_title = archive.ae_title();
  options.archive_port = archive.port();
  options.controlled_clock = true;
  options.settings["timing"] = {"mode = on_receipt"};
  options.settings["pull"] = {std::string("ae_title = ") + kPacsAe, "host = 127.0.0.1",
                              "port = " + std::to_string(pacs.port()),
                              "interval_seconds = " + std::to_string(kIntervalSeconds)};
  return options;
}

std::int64_t Count(ArchiveProcess& archive, const std::string& table) {
  return std::stoll(archive.sql().Value("SELECT count(*) FROM " + table));
}

using TimePoint = std::chrono::system_clock::time_point;

// "now" on the relay's clock at the start: the real time (so the studies'
// StudyDate, written by make_study.py from the wall clock, falls in the
// pulled date range).
TimePoint Start() { return std::chrono::system_clock::now(); }

// The clock file's format, "2026-11-22T20:30:00Z".
std::string FormatUtc(TimePoint time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

TEST_CASE("pull mode moves the PACS's new studies to the archive, each study once",
          "[relay][pull]") {
  TempDir data("hokan-it-pull");
  MakeStudy(data.path() / "first", {"--count", "2", "--patient-id", "PULL1"});
  MakeStudy(data.path() / "second", {"--count", "3", "--patient-id", "PULL2"});
  MakeStudy(data.path() / "third", {"--count", "1", "--patient-id", "PULL3"});

  ArchiveProcess archive(SingleFacilityOptions(kRelayAe));
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess pacs(PacsOptions(relay_port));
  const ToolResult stored =
      pacs.StoreScu("PACS_MODALITY", {"+sd"},
                    {(data.path() / "first").string(), (data.path() / "second").string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  REQUIRE(Count(pacs, "studies") == 2);

  const TimePoint t0 = Start();
  RelayProcess relay(PullRelayOptions(archive, pacs, relay_port));
  relay.SetClock(FormatUtc(t0));
  relay.Start();
  REQUIRE(relay.port() == relay_port);

  // The first sync runs at start-up: both studies reach the archive.
  REQUIRE(WaitUntil([&] { return Count(archive, "instances") == 5; }, 60s, 100ms));
  CHECK(Count(archive, "studies") == 2);
  CHECK(WaitUntil(
      [&] { return relay.Log().find("found 2, new 2, moved 2, failed 0") != std::string::npos; },
      10s));
  CHECK(CountOccurrences(pacs.Log(), kMoveLogLine) == 2);

  // A study stored into the PACS later waits for the next interval.
  REQUIRE(pacs.StoreScu("PACS_MODALITY", {"+sd"}, {(data.path() / "third").string()}).exit_code ==
          0);
  relay.SetClock(FormatUtc(t0 + std::chrono::seconds(kIntervalSeconds + 1)));
  REQUIRE(WaitUntil([&] { return Count(archive, "instances") == 6; }, 60s, 100ms));
  CHECK(Count(archive, "studies") == 3);
  CHECK(WaitUntil(
      [&] { return relay.Log().find("found 3, new 1, moved 1, failed 0") != std::string::npos; },
      10s));
  // Only the third study was moved again: three C-MOVEs in all.
  CHECK(CountOccurrences(pacs.Log(), kMoveLogLine) == 3);
  CHECK(CountOccurrences(relay.Log(), "pull sync from") == 2);

  SECTION("a study that got new instances is pulled again, the others are not") {
    const std::string first_uid = archive.sql().Value(
        "SELECT s.study_instance_uid FROM studies s JOIN patients p ON p.id = s.patient_fk "
        "WHERE p.patient_id = 'PULL1'");
    MakeStudy(data.path() / "more",
              {"--count", "1", "--patient-id", "PULL1", "--study-uid", first_uid});
    REQUIRE(pacs.StoreScu("PACS_MODALITY", {"+sd"}, {(data.path() / "more").string()}).exit_code ==
            0);
    relay.SetClock(FormatUtc(t0 + std::chrono::seconds(2 * kIntervalSeconds + 2)));
    REQUIRE(WaitUntil([&] { return Count(archive, "instances") == 7; }, 60s, 100ms));
    CHECK(Count(archive, "studies") == 3);
    CHECK(WaitUntil(
        [&] {
          return relay.Log().find("found 3, new 1, moved 1, failed 0") != std::string::npos &&
                 CountOccurrences(relay.Log(), "pull sync from") == 3;
        },
        10s));
    CHECK(CountOccurrences(pacs.Log(), kMoveLogLine) == 4);
  }
}

TEST_CASE("pull mode tries a PACS that was down again at the next interval", "[relay][pull]") {
  TempDir data("hokan-it-pull-down");
  MakeStudy(data.path() / "study", {"--count", "2", "--patient-id", "PULLDOWN"});
  ArchiveProcess archive(SingleFacilityOptions(kRelayAe));
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess pacs(PacsOptions(relay_port));
  REQUIRE(pacs.StoreScu("PACS_MODALITY", {"+sd"}, {(data.path() / "study").string()}).exit_code ==
          0);
  pacs.Kill();

  const TimePoint t0 = Start();
  RelayProcess relay(PullRelayOptions(archive, pacs, relay_port));
  relay.SetClock(FormatUtc(t0));
  relay.Start();
  REQUIRE(relay.port() == relay_port);

  // The sync at start-up fails and says why; the relay keeps running.
  REQUIRE(WaitUntil([&] { return relay.Log().find("pull sync from") != std::string::npos; }, 60s));
  CHECK(relay.Log().find("stopped:") != std::string::npos);
  CHECK(relay.Running());

  pacs.Start();
  relay.SetClock(FormatUtc(t0 + std::chrono::seconds(kIntervalSeconds + 1)));
  REQUIRE(WaitUntil([&] { return Count(archive, "instances") == 2; }, 60s, 100ms));
  CHECK(WaitUntil(
      [&] { return relay.Log().find("found 1, new 1, moved 1, failed 0") != std::string::npos; },
      10s));
}

}  // namespace hokan::integration
