// RelayConfig INI parsing (scu/relay_config.h).
#include <catch2/catch.hpp>

#include "archive/common/error.h"
#include "scu/archive_peer.h"
#include "scu/relay_config.h"

namespace hokan::relay {
namespace {

std::string ErrorOf(const std::string& text) {
  try {
    ParseRelayConfig(text, "relay.ini");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kConfiguration);
    return error.what();
  }
  return "";
}

const char* kMinimal = "[relay]\nmodality_ae_titles = CT1, MR2\n";

}  // namespace

TEST_CASE("relay config: every section and key of the example file", "[relay][relay-config]") {
  const RelayConfig config = LoadRelayConfig(std::string(HOKAN_SOURCE_DIR) +
                                             "/config/hokan-forward.example.ini");
  CHECK(config.ae_title == "CLINIC_A_FWD");
  CHECK(config.modality_ae_titles == std::vector<std::string>{"CT_ROOM1", "MR_ROOM2"});
  CHECK(config.commitment_ae_titles == std::vector<std::string>{"CT_ROOM1"});
  CHECK(config.min_free_bytes == 64LL << 20);
  CHECK(config.archive_host == "archive.example.org");
  CHECK(config.timing == BackupTiming::kOnReceipt);
  CHECK(config.low_space_watermark_bytes == 5LL << 30);
  CHECK(config.contract_refresh_seconds == 600);
  CHECK_FALSE(config.import_dir.has_value());
}

TEST_CASE("relay config: values", "[relay][relay-config]") {
  const RelayConfig config = ParseRelayConfig(
      std::string(kMinimal) +
          "[archive]\ncontract_refresh_seconds = 0\n"
          "[timing]\nmode = nightly\nnightly_at = 22:30\nexam_quiet_minutes = 5\n"
          "[selection]\nopted_out_patient_ids = P1, P2\nmodalities = CT\n"
          "[pull]\nae_title = PACS\nhost = pacs\nport = 104\ninterval_seconds = 60\n"
          "[import]\ndir = /tmp/in\npoll_interval_seconds = 2\n",
      "relay.ini");
  CHECK(config.contract_refresh_seconds == 0);
  CHECK(config.timing == BackupTiming::kNightly);
  CHECK(config.nightly_at == std::optional<std::chrono::minutes>(22 * 60 + 30));
  CHECK(config.exam_quiet == std::chrono::minutes(5));
  CHECK(config.opted_out_patient_ids == std::vector<std::string>{"P1", "P2"});
  CHECK(config.pull_ae_title == std::optional<std::string>("PACS"));
  CHECK(config.pull_port == 104);
  CHECK(config.import_dir == std::optional<std::filesystem::path>("/tmp/in"));
  CHECK(config.poll_interval == std::chrono::seconds(2));
}

TEST_CASE("relay config: the archive's report addresses", "[relay][relay-config]") {
  const RelayConfig config = ParseRelayConfig(
      std::string(kMinimal) + "[archive]\nreport_addresses = 10.0.0.5, fd00::7\n", "relay.ini");
  CHECK(config.archive_report_addresses == std::vector<std::string>{"10.0.0.5", "fd00::7"});
  CHECK(CanonicalIpAddress("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(CanonicalIpAddress("fd00:0::7") == "fd00::7");
  CHECK(CanonicalIpAddress("archive.example.org").empty());
  // Only the archive's addresses are the archive's.
  const ArchivePeerCheck check(config);
  CHECK(check.Refusal("10.0.0.5", false).empty());
  CHECK_THAT(check.Refusal("10.0.0.6", false),
             Catch::Contains("peer address 10.0.0.6 is not the archive's"));
  RelayConfig over_tls = config;
  over_tls.archive_tls = true;
  CHECK_THAT(ArchivePeerCheck(over_tls).Refusal("10.0.0.5", false),
             Catch::Contains("only over the TLS port"));
  CHECK(ArchivePeerCheck(over_tls).Refusal("10.0.0.5", true).empty());
}

TEST_CASE("relay config: bad input names the key", "[relay][relay-config]") {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {std::string(kMinimal) + "colour = blue\n", "unknown key 'relay.colour'"},
      {std::string(kMinimal) + "[wishes]\nx = 1\n", "unknown section [wishes]"},
      {std::string(kMinimal) + "port = 70000\n", "key 'relay.port'"},
      {std::string(kMinimal) + "min_free_bytes = lots\n", "key 'relay.min_free_bytes'"},
      {std::string(kMinimal) + "[timing]\nmode = hourly\n", "key 'timing.mode'"},
      {std::string(kMinimal) + "[timing]\nmode = nightly\n", "key 'timing.nightly_at'"},
      {std::string(kMinimal) + "[timing]\nnightly_at = 25:00\n", "key 'timing.nightly_at'"},
      {std::string(kMinimal) + "commitment_ae_titles = XR9\n", "relay.commitment_ae_titles"},
      {std::string(kMinimal) + "[pull]\nae_title = PACS\n", "pull.host"},
      {"[relay]\nport = 104\n", "relay.modality_ae_titles"},
      {std::string(kMinimal) + "log_level = loud\n", "key 'relay.log_level'"},
      {std::string(kMinimal) + "[archive]\nreport_addresses = 10.0.0.5, archive2\n",
       "key 'archive.report_addresses'"},
      {std::string(kMinimal) + "[archive]\ncontract_refresh_seconds = -1\n",
       "key 'archive.contract_refresh_seconds'"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const std::string error = ErrorOf(c.text);
    CHECK(error.find(c.expected) != std::string::npos);
    CHECK(error.rfind("relay.ini: ", 0) == 0);
  }
}

}  // namespace hokan::relay
