#include <catch2/catch.hpp>

#include <string>

#include "archive/common/error.h"
#include "archive/config/config.h"

using hokan::Error;
using hokan::archive::ArchiveConfig;
using hokan::archive::ConfigOverrides;
using hokan::archive::ParseConfig;

namespace {

const char* kMinimal =
    "[archive]\n"
    "ae_title = HOKAN\n"
    "[database]\n"
    "url = dbname=hokan\n"
    "[facility.demo]\n"
    "store_ae_titles = DEMO_MODALITY, DEMO_RELAY\n"
    "allowed_peers = 127.0.0.1, 10.0.0.0/8\n";

// The message of the configuration error `text` raises.
std::string ErrorOf(const std::string& text, const ConfigOverrides& overrides = {}) {
  try {
    ParseConfig(text, "test.ini", overrides);
  } catch (const Error& error) {
    CHECK(error.code() == hokan::ErrorCode::kConfiguration);
    return error.what();
  }
  FAIL("no error raised for: " << text);
  return {};
}

}  // namespace

TEST_CASE("a minimal configuration gets the documented defaults") {
  const ArchiveConfig config = ParseConfig(kMinimal, "test.ini", {});
  CHECK(config.ae_title == "HOKAN");
  CHECK(config.port == 11112);
  CHECK(config.max_associations == 16);
  CHECK(config.max_pdu_bytes == 65536);
  CHECK(config.database_url == "dbname=hokan");
  CHECK_FALSE(config.node_name.empty());
  REQUIRE(config.facilities.size() == 1);
  CHECK(config.facilities[0].name == "demo");
  CHECK(config.facilities[0].store_ae_titles ==
        std::vector<std::string>{"DEMO_MODALITY", "DEMO_RELAY"});
  CHECK(config.facilities[0].allowed_peers ==
        std::vector<std::string>{"127.0.0.1", "10.0.0.0/8"});
}

TEST_CASE("command-line overrides win over the file") {
  const ArchiveConfig config = ParseConfig(
      kMinimal, "test.ini",
      {{"archive.port", "4242"}, {"archive.ae_title", "OTHER"}, {"database.url", "dbname=x"}});
  CHECK(config.port == 4242);
  CHECK(config.ae_title == "OTHER");
  CHECK(config.database_url == "dbname=x");
}

TEST_CASE("the example configuration parses with a database URL supplied") {
  const ArchiveConfig config = hokan::archive::LoadConfig(
      HOKAN_SOURCE_DIR "/config/hokan.example.ini", {{"database.url", "dbname=hokan"}});
  CHECK(config.ae_title == "HOKAN");
  CHECK(config.port == 11112);
  REQUIRE(config.facilities.size() == 1);
  CHECK(config.facilities[0].name == "demo");
  CHECK(config.facilities[0].store_ae_titles == std::vector<std::string>{"DEMO_MODALITY"});
}

TEST_CASE("configuration errors name the bad key") {
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"[archive]\nport = 0\n[database]\nurl=x\n", "'archive.port'"},
      {"[archive]\nport = 80x\n[database]\nurl=x\n", "'archive.port'"},
      {"[archive]\nportt = 1\n[database]\nurl=x\n", "unknown key 'archive.portt'"},
      {"[archive]\nae_title = THIS_IS_TOO_LONG_AE\n[database]\nurl=x\n", "'archive.ae_title'"},
      {"[archive]\nae_title = A\\B\n[database]\nurl=x\n", "'archive.ae_title'"},
      {"[archive]\nlog_level = loud\n[database]\nurl=x\n", "'archive.log_level'"},
      {"[archive]\nmax_associations = 0\n[database]\nurl=x\n", "'archive.max_associations'"},
      {"[archive]\nmax_pdu_bytes = 100\n[database]\nurl=x\n", "'archive.max_pdu_bytes'"},
      {"[archive]\nduplicate_policy = overwrite\n[database]\nurl=x\n",
       "'archive.duplicate_policy'"},
      {"[archive]\nae_title = HOKAN\n", "'database.url' is required"},
      {"[database]\nurl=x\n[storage]\na=b\n", "unknown section '[storage]'"},
      {"[database]\nurl=x\n[facility.demo]\nstore_ae_titles = A\nallowed_peers = nowhere\n",
       "'facility.demo.allowed_peers'"},
      {"[database]\nurl=x\n[facility.demo]\nstore_ae_titles = A\nallowed_peers = 10.0.0.1/8\n",
       "key 'facility.demo.allowed_peers': '10.0.0.1/8' has host bits set"},
      {"[database]\nurl=x\n[facility.demo]\nstore_ae_titles = A\n"
       "allowed_peers = 127.0.0.1, fd00::1/8\n",
       "key 'facility.demo.allowed_peers': 'fd00::1/8' has host bits set"},
      {"[database]\nurl=x\n[facility.demo]\nstore_ae_titles = A\ncolour = red\n",
       "unknown key 'facility.demo.colour'"},
      {"[database]\nurl=x\n[facility.a/b]\nstore_ae_titles = A\n", "facility name"},
      {"[database]\nurl=x\n[facility.a]\nstore_ae_titles = X\n[facility.b]\nstore_ae_titles = X\n",
       "names both facility 'a' (allowed_peers: any address) and facility 'b'"},
      {"[database]\nurl=x\n[facility.a]\nstore_ae_titles = X\nquery_ae_titles = X\n",
       "listed twice"},
      {"[database]\nurl=x\n[facility.a]\nquery_ae_titles = VIEWER\\1\n",
       "'facility.a.query_ae_titles'"},
      {"[database]\nurl=x\npool_size = 0\n", "'database.pool_size'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THAT(ErrorOf(c.text), Catch::Contains(c.expected));
  }
}

TEST_CASE("an unknown override key is an error naming it") {
  CHECK_THAT(ErrorOf(kMinimal, {{"archive.colour", "red"}}),
             Catch::Contains("unknown key 'archive.colour'"));
}

TEST_CASE("a missing configuration file is an error naming the path") {
  try {
    hokan::archive::LoadConfig("/nonexistent/hokan.ini", {});
    FAIL("no error");
  } catch (const Error& error) {
    CHECK_THAT(std::string(error.what()), Catch::Contains("/nonexistent/hokan.ini"));
  }
}

TEST_CASE("AE title validation") {
  using hokan::archive::IsValidAeTitle;
  CHECK(IsValidAeTitle("HOKAN"));
  CHECK(IsValidAeTitle("DEMO_MODALITY"));
  CHECK(IsValidAeTitle("A B"));
  CHECK(IsValidAeTitle("1234567890123456"));
  CHECK_FALSE(IsValidAeTitle(""));
  CHECK_FALSE(IsValidAeTitle("    "));
  CHECK_FALSE(IsValidAeTitle("12345678901234567"));
  CHECK_FALSE(IsValidAeTitle("A\\B"));
  CHECK_FALSE(IsValidAeTitle("A\nB"));
}

TEST_CASE("resource limits: defaults, file values, overrides and bad values") {
  const ArchiveConfig defaults = ParseConfig(kMinimal, "test.ini", {});
  CHECK(defaults.limits.find_max_matches == 10000);
  CHECK(defaults.limits.find_statement_timeout_ms == 30000);
  CHECK(defaults.limits.max_identifier_keys == 256);
  CHECK(defaults.limits.max_object_bytes == 2LL << 30);

  const std::string text =
      "[archive]\nfind_max_matches = 0\nmax_object_bytes = 64M\nmax_commitment_items = 10\n"
      "[database]\nurl = dbname=hokan\n";
  const ArchiveConfig config =
      ParseConfig(text, "test.ini", {{"archive.max_identifier_keys", "5000"}});
  CHECK(config.limits.find_max_matches == 0);
  CHECK(config.limits.max_object_bytes == 64LL << 20);
  CHECK(config.limits.max_commitment_items == 10);
  CHECK(config.limits.max_identifier_keys == 5000);

  CHECK_THAT(ErrorOf(text, {{"archive.max_identifier_keys", "0"}}),
             Catch::Contains("archive.max_identifier_keys"));
  CHECK_THAT(ErrorOf(text, {{"archive.find_statement_timeout_ms", "-1"}}),
             Catch::Contains("archive.find_statement_timeout_ms"));
  CHECK_THAT(ErrorOf(text, {{"archive.max_object_bytes", "lots"}}),
             Catch::Contains("archive.max_object_bytes"));
}
