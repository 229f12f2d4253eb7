// The storage root's marker (issue 14, item 6): `hokan expire --now` with a
// wrong --storage-root deletes nothing; hokan-archive refuses to start on a
// root marked for another database or, once it has marked one, on a root
// without a marker (a wrong path, a volume not mounted) until an operator
// adopts it; an existing root gets its marker at the first start after the
// upgrade, never from the command.

#include <catch2/catch.hpp>

#include "archive/common/clock.h"
#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

constexpr const char* kMarker = ".hokan-storage";

// The archive's worker would expire on its own at start-up and then every
// 10 minutes; the test expires with `hokan expire` at a controlled clock.
ArchiveOptions ExpireByCommandOptions() {
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.controlled_clock = true;
  options.initial_clock = FormatUtc(std::chrono::system_clock::now());
  options.extra_archive_settings = {"job_poll_milliseconds = 600000"};
  return options;
}

// Stores a study of two instances, due for expiry one day after the base
// time; returns its Study Instance UID.
std::string StoreDueStudy(ArchiveProcess& archive, const fs::path& folder) {
  MakeStudy(folder, {"--count", "2"});
  const ToolResult stored = archive.StoreScu("IT_MODALITY", {"+sd"}, {folder.string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  const std::string study = archive.sql().Value("SELECT study_instance_uid FROM studies");
  archive.sql().Execute(
      "UPDATE studies SET expires_at = $1::timestamptz + interval '1 day'",
      {archive.clock_base()});
  return study;
}

std::vector<fs::path> StoredFiles(ArchiveProcess& archive) {
  std::vector<fs::path> files;
  for (const auto& row : archive.sql().Query("SELECT relative_path FROM instances")) {
    files.push_back(archive.storage_root() / *row[0]);
  }
  return files;
}

bool AllExist(const std::vector<fs::path>& files) {
  for (const auto& file : files) {
    if (!fs::exists(file)) return false;
  }
  return true;
}

ToolResult ExpireNowAt(const ArchiveProcess& archive, const fs::path& root) {
  return Admin(archive, {"expire", "--now", "--storage-root", root.string(), "--by", "operator"});
}

// hokan-archive run in the foreground with `config_owner`'s configuration
// (its storage root) on `database_url`: for starts that must be refused.
ToolResult RunArchive(const ArchiveProcess& config_owner, const std::string& database_url) {
  return RunTool({ArchiveBinary().string(), "--config",
                  (config_owner.work_dir() / "hokan.ini").string(), "--database-url",
                  database_url},
                 config_owner.Environment(), 60s);
}

}  // namespace

TEST_CASE("hokan expire --now refuses a storage root not marked for this database",
          "[storage_marker][expiry]") {
  TempDir data("hokan-it-marker");
  ArchiveProcess archive(ExpireByCommandOptions());
  ArchiveProcess other(SingleFacilityOptions("IT_MODALITY"));
  const std::string study = StoreDueStudy(archive, data.path() / "study");
  const std::vector<fs::path> files = StoredFiles(archive);
  REQUIRE(files.size() == 2);
  REQUIRE(fs::exists(archive.storage_root() / kMarker));
  archive.SetClock(archive.sql().Value(
      "SELECT to_char(($1::timestamptz + interval '3 days') AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
      {archive.clock_base()}));
  const fs::path empty_root = data.path() / "empty";
  fs::create_directories(empty_root);

  const ToolResult unmarked = ExpireNowAt(archive, empty_root);
  INFO(unmarked.Describe());
  CHECK(unmarked.exit_code == 2);
  CHECK_THAT(unmarked.output, Catch::Contains(empty_root.string()) &&
                                  Catch::Contains("has no marker file .hokan-storage") &&
                                  Catch::Contains("hokan storage adopt") &&
                                  Catch::Contains("nothing was deleted"));
  const ToolResult foreign = ExpireNowAt(archive, other.storage_root());
  INFO(foreign.Describe());
  CHECK(foreign.exit_code == 2);
  CHECK_THAT(foreign.output, Catch::Contains(other.storage_root().string()) &&
                                 Catch::Contains("belongs to another database") &&
                                 Catch::Contains("nothing was deleted"));
  // Rows and files stay; the command wrote no marker.
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 2);
  CHECK(archive.sql().Count("SELECT count(*) FROM expiry_deletions") == 0);
  CHECK(AllExist(files));
  CHECK_FALSE(fs::exists(empty_root / kMarker));

  const ToolResult expired = ExpireNowAt(archive, archive.storage_root());
  INFO(expired.Describe());
  CHECK(expired.exit_code == 0);
  CHECK_THAT(expired.output, Catch::Contains("expired 1 studies (2 instances"));
  CHECK(archive.sql().Count("SELECT count(*) FROM studies WHERE study_instance_uid = $1",
                            {study}) == 0);
  for (const auto& file : files) CHECK_FALSE(fs::exists(file));
}

TEST_CASE("hokan-archive refuses a storage root marked for another database or gone missing",
          "[storage_marker]") {
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  ArchiveProcess other(SingleFacilityOptions("IT_MODALITY"));
  const std::string other_id = other.sql().Value("SELECT installation_id FROM installation");
  other.Stop();

  // The other archive's configuration (its root) on this database.
  const ToolResult foreign = RunArchive(other, archive.database_url());
  INFO(foreign.Describe());
  CHECK(foreign.exit_code == 2);
  CHECK_THAT(foreign.output, Catch::Contains("refusing to start") &&
                                 Catch::Contains(other.storage_root().string()) &&
                                 Catch::Contains("belongs to another database") &&
                                 Catch::Contains(other_id) &&
                                 Catch::Contains("--adopt-storage-root"));

  // This archive's root without its marker (a volume not mounted).
  archive.Stop();
  fs::remove(archive.storage_root() / kMarker);
  const ToolResult unmarked = RunArchive(archive, archive.database_url());
  INFO(unmarked.Describe());
  CHECK(unmarked.exit_code == 2);
  CHECK_THAT(unmarked.output, Catch::Contains("refusing to start") &&
                                  Catch::Contains("has no marker file .hokan-storage"));
  CHECK_FALSE(fs::exists(archive.storage_root() / kMarker));

  // An operator adopts it; the archive starts again and expiry accepts it.
  const ToolResult adopted = Admin(archive, {"storage", "adopt", "--storage-root",
                                             archive.storage_root().string(), "--by", "operator"});
  INFO(adopted.Describe());
  REQUIRE(adopted.exit_code == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'storage.adopt' "
                            "AND actor = 'operator'") == 1);
  archive.Start();
  CHECK(ExpireNowAt(archive, archive.storage_root()).exit_code == 0);
}

TEST_CASE("an existing storage root is marked at the archive's first start after the upgrade",
          "[storage_marker]") {
  TempDir data("hokan-it-marker");
  ArchiveProcess archive(ExpireByCommandOptions());
  StoreDueStudy(archive, data.path() / "study");
  const std::vector<fs::path> files = StoredFiles(archive);
  // A database and root as before schema 016: no installation, no marker.
  archive.Stop();
  archive.sql().Execute("DELETE FROM installation");
  fs::remove(archive.storage_root() / kMarker);

  // The command never marks a root.
  const ToolResult refused = ExpireNowAt(archive, archive.storage_root());
  INFO(refused.Describe());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("no storage root has been marked"));
  CHECK_FALSE(fs::exists(archive.storage_root() / kMarker));
  CHECK(archive.sql().Count("SELECT count(*) FROM installation") == 0);

  // The archive's first start marks its own root, files kept.
  archive.Start();
  const std::string id = archive.sql().Value("SELECT installation_id FROM installation");
  CHECK(ReadFileBytes(archive.storage_root() / kMarker).find("installation_id = " + id) !=
        std::string::npos);
  CHECK(AllExist(files));
  CHECK(archive.sql().Count("SELECT count(*) FROM installation WHERE storage_marked_at IS NOT "
                            "NULL") == 1);
  const ToolResult shown = Admin(archive, {"storage", "show", "--storage-root",
                                           archive.storage_root().string()});
  CHECK_THAT(shown.output, Catch::Contains(id) && Catch::Contains("marked for this database"));
}

}  // namespace hokan::integration
