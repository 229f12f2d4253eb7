// Re-storing an instance while expiry deletes it leaves no orphan file
// (issue 14, item 9). Expiry sets the study's files aside (quarantine),
// then deletes the rows. A store of the same instance in between found the
// name free and the row present (same content) and answered "already
// stored", restoring the file: then the rows went, and the file stayed
// behind without a row. Now that store is refused (0xA700, store it again
// later) and its file discarded; after the deletion it is stored afresh.

#include <catch2/catch.hpp>

#include <fstream>
#include <future>

#include "archive/common/clock.h"
#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {

TEST_CASE("re-storing an instance while expiry deletes it leaves no orphan file",
          "[expiry][restore_during_expiry]") {
  TempDir data("hokan-it-restore-expiry");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "1"});
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.controlled_clock = true;
  options.initial_clock = FormatUtc(std::chrono::system_clock::now());
  options.extra_archive_settings = {"job_poll_milliseconds = 600000"};
  ArchiveProcess archive(options);
  REQUIRE(archive.StoreScu("IT_MODALITY", {}, PathsOf(instances)).exit_code == 0);
  const std::string path = archive.sql().Value("SELECT relative_path FROM instances");
  archive.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz + interval '1 day'",
                        {archive.clock_base()});
  archive.SetClock(archive.sql().Value(
      "SELECT to_char(($1::timestamptz + interval '3 days') AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
      {archive.clock_base()}));

  // Expiry pauses with the file set aside and the row still present.
  const fs::path failpoints = data.path() / "failpoints";
  fs::create_directories(failpoints);
  auto expiry = std::async(std::launch::async, [&] {
    return Admin(archive,
                 {"expire", "--now", "--storage-root", archive.storage_root().string()},
                 {{"HOKAN_FAILPOINTS", "expiry-after-quarantine=pause"},
                  {"HOKAN_FAILPOINT_DIR", failpoints.string()}});
  });
  REQUIRE(WaitUntil([&] { return fs::exists(failpoints / "expiry-after-quarantine.reached"); },
                    60s));
  REQUIRE_FALSE(fs::exists(archive.storage_root() / path));

  const ToolResult during = archive.StoreScu("IT_MODALITY", {"-d"}, PathsOf(instances));
  INFO(during.Describe());
  CHECK(DimseStatusesFromDebugOutput(during.output) == std::vector<std::uint16_t>{0xA700});
  CHECK_THAT(archive.Log(), Catch::Contains("expiry is deleting it"));

  std::ofstream(failpoints / "expiry-after-quarantine.release") << "go\n";
  const ToolResult expired = expiry.get();
  INFO(expired.Describe());
  CHECK(expired.exit_code == 0);
  CHECK_THAT(expired.output, Catch::Contains("expired 1 studies"));
  // Neither a row nor a file without the other.
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
  CHECK_FALSE(fs::exists(archive.storage_root() / path));
  CHECK_FALSE(fs::exists(archive.storage_root() / fs::path(path).parent_path()));

  // Stored again after the deletion: a new instance, file and row.
  const ToolResult after = archive.StoreScu("IT_MODALITY", {}, PathsOf(instances));
  INFO(after.Describe());
  CHECK(after.exit_code == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
  CHECK(fs::exists(archive.storage_root() / path));
}

}  // namespace hokan::integration
