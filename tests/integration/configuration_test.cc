// What an operator sees when starting hokan-archive: migrations applied once
// and recorded, and configuration mistakes named with a non-zero exit.

#include <catch2/catch.hpp>

#include "tests/integration/test_support.h"
#include "tests/integration/throwaway_database.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {

TEST_CASE("migrations are applied once and recorded; a second run applies none", "[startup]") {
  ThrowawayDatabase database(TestDatabaseUrl());
  const std::string config = (SourceDir() / "config" / "hokan.example.ini").string();
  const std::vector<std::string> migrate = {ArchiveBinary().string(), "--config", config,
                                            "--database-url", database.conninfo(),
                                            "--migrate-only"};
  ToolResult first = RunTool(migrate);
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.output, Catch::Contains("applied schema migration 001_init"));

  ToolResult second = RunTool(migrate);
  INFO(second.Describe());
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.output, Catch::Contains("(0 migration(s) applied now)"));

  Sql sql(database.conninfo());
  CHECK(sql.Count("SELECT count(*) FROM schema_migrations WHERE version = 1 "
                  "AND name = '001_init'") == 1);
  CHECK(sql.Count("SELECT count(*) FROM information_schema.tables "
                  "WHERE table_name IN ('facilities', 'application_entities', 'patients', "
                  "'studies', 'series', 'instances')") == 6);
}

TEST_CASE("configuration mistakes stop start-up with a message naming the key", "[startup]") {
  TempDir work("hokan-it-config");
  const fs::path config = work.path() / "bad.ini";
  struct Case {
    std::string text;
    std::vector<std::string> extra_arguments;
    std::string expected;
  };
  const Case cases[] = {
      {"[archive]\nport = 99999\n[database]\nurl = dbname=x\n", {}, "'archive.port'"},
      {"[archive]\nae_tittle = HOKAN\n[database]\nurl = dbname=x\n", {},
       "unknown key 'archive.ae_tittle'"},
      {"[archive]\nae_title = HOKAN\n", {}, "'database.url' is required"},
      {"[database]\nurl = dbname=x\n", {"--max-associations", "0"},
       "'archive.max_associations'"},
  };
  for (const auto& c : cases) {
    WriteFileBytes(config, c.text);
    std::vector<std::string> argv = {ArchiveBinary().string(), "--config", config.string()};
    argv.insert(argv.end(), c.extra_arguments.begin(), c.extra_arguments.end());
    // No HOKAN_DATABASE_URL from the environment may fill the gap.
    ToolResult result = RunTool(argv, {{"HOKAN_DATABASE_URL", ""}});
    INFO(c.text << "\n" << result.Describe());
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Contains(c.expected));
  }
  ToolResult missing = RunTool({ArchiveBinary().string(), "--config",
                                (work.path() / "nonexistent.ini").string()});
  INFO(missing.Describe());
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("nonexistent.ini"));
}

}  // namespace hokan::integration
