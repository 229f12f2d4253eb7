// An instance whose commit outcome was unknown (the connection to
// PostgreSQL broke during COMMIT: kCommitInDoubt) becomes storable again
// without a restart (issue 14, item 9). Before, its placed file and intent
// record waited for the start-up sweep, and every new store of it was
// answered "file name taken but not indexed" until the archive restarted.

#include <catch2/catch.hpp>

#include <future>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {

TEST_CASE("an instance whose commit outcome was unknown is storable again without a restart",
          "[ingest][commit_in_doubt]") {
  TempDir data("hokan-it-in-doubt");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "1"});
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  // A deferred trigger holds the archive's COMMIT of the instance row, so
  // the test can break its connection during the COMMIT.
  archive.sql().Execute(
      "CREATE FUNCTION test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN PERFORM pg_sleep(120); RETURN NULL; END $$");
  archive.sql().Execute(
      "CREATE CONSTRAINT TRIGGER test_hold_commit AFTER INSERT ON instances "
      "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_hold_commit()");

  auto first = std::async(std::launch::async, [&] {
    return archive.StoreScu("IT_MODALITY", {"-d"}, PathsOf(instances));
  });
  std::string held_pid;
  REQUIRE(WaitUntil(
      [&] {
        held_pid = archive.sql().Value(
            "SELECT COALESCE(min(pid)::text, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event = 'PgSleep'");
        return !held_pid.empty();
      },
      60s));
  archive.sql().Execute("SELECT pg_terminate_backend($1::int)", {held_pid});
  archive.sql().Execute("DROP TRIGGER test_hold_commit ON instances");
  const ToolResult in_doubt = first.get();
  INFO(in_doubt.Describe());
  CHECK(DimseStatusesFromDebugOutput(in_doubt.output) == std::vector<std::uint16_t>{0xA700});
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
  CHECK_THAT(archive.Log(), Catch::Contains("commit outcome unknown"));

  // Stored again, at once and without a restart.
  const ToolResult again = archive.StoreScu("IT_MODALITY", {"-d"}, PathsOf(instances));
  INFO(again.Describe());
  CHECK(again.exit_code == 0);
  CHECK(DimseStatusesFromDebugOutput(again.output) == std::vector<std::uint16_t>{0x0000});
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
  const std::string path = archive.sql().Value("SELECT relative_path FROM instances");
  CHECK(fs::exists(archive.storage_root() / path));
  CHECK(archive.sql().Value("SELECT sop_instance_uid FROM instances") ==
        instances[0].sop_instance_uid);
  CHECK_THAT(archive.Log(), Catch::Contains("no row was committed: removed"));
  // No intent record is left for the sweep.
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
}

}  // namespace hokan::integration
