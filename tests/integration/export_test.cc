// The deluxe offline export: `hokan export --now` and the scheduled job
// write a DICOMDIR file set of what a facility received since its previous
// export. What a user sees: exit codes, the media folder, DICOMDIR as
// DCMTK's dcmdump reads it, byte-identical files, rows in PostgreSQL.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <set>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

constexpr const char* kFacilityId = "(SELECT id FROM facilities WHERE name = 'clinic')";

ToolResult ExportNow(const ArchiveProcess& archive, const fs::path& export_root) {
  return Admin(archive, {"export", "--facility", "clinic", "--now", "--export-root",
                         export_root.string(), "--storage-root", archive.storage_root().string()});
}

void MakeDeluxe(ArchiveProcess& archive) {
  archive.sql().Execute(
      std::string("UPDATE contracts SET service_class = 'deluxe', export_at = '02:00' "
                  "WHERE superseded_at IS NULL AND facility_id = ") +
      kFacilityId);
}

// Generates a study of `count` instances and stores it; returns its UID.
std::string StoreStudy(ArchiveProcess& archive, const fs::path& folder, int count) {
  const auto files =
      MakeStudy(folder, {"--count", std::to_string(count), "--rows", "16", "--columns", "16",
                         "--series-count", count > 1 ? "2" : "1"});
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {folder.string()}).exit_code == 0);
  return archive.sql().Value(
      "SELECT s.study_instance_uid FROM instances i JOIN series e ON e.id = i.series_fk "
      "JOIN studies s ON s.id = e.study_fk WHERE i.sop_instance_uid = $1",
      {files.front().sop_instance_uid});
}

// The Study Instance UIDs DICOMDIR lists (dcmdump +P 0020,000d).
std::set<std::string> StudiesListed(const fs::path& dicomdir) {
  const ToolResult dump = RunTool({"dcmdump", "+P", "0020,000d", dicomdir.string()});
  INFO(dump.Describe());
  REQUIRE(dump.exit_code == 0);
  std::set<std::string> uids;
  std::size_t at = 0;
  while ((at = dump.output.find("UI [", at)) != std::string::npos) {
    const std::size_t end = dump.output.find(']', at);
    uids.insert(dump.output.substr(at + 4, end - at - 4));
    at = end;
  }
  return uids;
}

// How many files DICOMDIR references (ReferencedFileID, 0004,1500).
int FilesReferenced(const fs::path& dicomdir) {
  const ToolResult dump = RunTool({"dcmdump", "+P", "0004,1500", dicomdir.string()});
  REQUIRE(dump.exit_code == 0);
  return CountOccurrences(dump.output, "ReferencedFileID");
}

// SHA-256 of every file under <folder>/DICOM.
std::multiset<std::string> ChecksumsOnMedia(const fs::path& folder) {
  std::multiset<std::string> sums;
  for (const auto& file : ListFilesRecursive(folder / "DICOM")) {
    sums.insert(Sha256Hex(ReadFileBytes(file)));
  }
  return sums;
}

std::multiset<std::string> StoredChecksums(ArchiveProcess& archive,
                                           const std::vector<std::string>& study_uids) {
  std::multiset<std::string> sums;
  for (const auto& uid : study_uids) {
    for (const auto& row : archive.sql().Query(
             "SELECT i.relative_path, i.checksum_sha256 FROM instances i "
             "JOIN series e ON e.id = i.series_fk JOIN studies s ON s.id = e.study_fk "
             "WHERE s.study_instance_uid = $1",
             {uid})) {
      // The stored file itself, not only its recorded checksum.
      const std::string bytes = ReadFileBytes(archive.storage_root() / *row[0]);
      REQUIRE(Sha256Hex(bytes) == *row[1]);
      sums.insert(*row[1]);
    }
  }
  return sums;
}

// "YYYY-MM-DD" of the system clock's UTC date plus `days`.
std::string UtcDate(int days) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) + days * 86400;
  std::tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
}

}  // namespace

TEST_CASE("hokan export --now writes a DICOMDIR file set of a deluxe facility's new studies once",
          "[export]") {
  TempDir data("hokan-it-export");
  const fs::path export_root = data.path() / "media";
  ArchiveProcess archive(SingleFacilityOptions());
  MakeDeluxe(archive);
  const std::string first = StoreStudy(archive, data.path() / "first", 3);
  const std::string second = StoreStudy(archive, data.path() / "second", 2);

  const ToolResult exported = ExportNow(archive, export_root);
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  CHECK(exported.output.find("2 studies, 5 instances") != std::string::npos);
  REQUIRE(archive.sql().Count("SELECT count(*) FROM offline_exports") == 1);
  const fs::path folder = archive.sql().Value("SELECT folder FROM offline_exports");
  CHECK(folder.parent_path() == fs::absolute(export_root / "clinic"));
  CHECK(folder.filename().string().size() == 16);  // YYYYMMDDTHHMMSSZ
  REQUIRE(fs::is_regular_file(folder / "DICOMDIR"));
  CHECK_FALSE(fs::exists(folder.string() + ".partial"));
  CHECK(StudiesListed(folder / "DICOMDIR") == std::set<std::string>{first, second});
  CHECK(FilesReferenced(folder / "DICOMDIR") == 5);
  CHECK(fs::is_regular_file(folder / "DICOM" / "ST000001" / "SE000001" / "IM000001"));
  CHECK(ChecksumsOnMedia(folder) == StoredChecksums(archive, {first, second}));
  CHECK(archive.sql().Value("SELECT studies || '/' || instances || '/' || refused_instances || "
                            "'/' || (previous_cut_off IS NULL) FROM offline_exports") ==
        "2/5/0/true");
  CHECK(archive.sql().Count("SELECT count(*) FROM offline_export_studies") == 2);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'export.write' "
                            "AND subject = $1",
                            {folder.string()}) == 1);

  // Nothing new: nothing written, nothing recorded.
  const ToolResult again = ExportNow(archive, export_root);
  INFO(again.Describe());
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("nothing written") != std::string::npos);
  CHECK(archive.sql().Count("SELECT count(*) FROM offline_exports") == 1);
  CHECK(fs::is_directory(folder));

  // A third study: only it goes on the next medium.
  const std::string third = StoreStudy(archive, data.path() / "third", 2);
  const ToolResult next = ExportNow(archive, export_root);
  INFO(next.Describe());
  REQUIRE(next.exit_code == 0);
  REQUIRE(archive.sql().Count("SELECT count(*) FROM offline_exports") == 2);
  const fs::path next_folder =
      archive.sql().Value("SELECT folder FROM offline_exports ORDER BY cut_off DESC LIMIT 1");
  CHECK(next_folder != folder);
  CHECK(StudiesListed(next_folder / "DICOMDIR") == std::set<std::string>{third});
  CHECK(ChecksumsOnMedia(next_folder) == StoredChecksums(archive, {third}));
  CHECK(archive.sql().Value("SELECT previous_cut_off = (SELECT min(cut_off) FROM offline_exports) "
                            "FROM offline_exports ORDER BY cut_off DESC LIMIT 1") == "t");

  const ToolResult list = Admin(archive, {"export", "list", "--facility", "clinic"});
  INFO(list.Describe());
  CHECK(list.exit_code == 0);
  CHECK(list.output.find(next_folder.string()) < list.output.find(folder.string() + "\n"));
}

TEST_CASE("files stored compressed or in implicit VR go on the media as stored", "[export]") {
  const fs::path corpus = PydicomDataDir() / "test_files";
  // JPEG 2000, RLE, JPEG baseline and Implicit VR Little Endian (an RT Plan
  // without Instance Number, which DICOMDIR needs: invented): the strict
  // General Purpose profile wants Explicit VR Little Endian only.
  const std::vector<fs::path> files = {corpus / "JPEG2000.dcm", corpus / "MR_small_RLE.dcm",
                                       corpus / "SC_rgb_jpeg_dcmtk.dcm", corpus / "rtplan.dcm"};
  TempDir data("hokan-it-export");
  ArchiveProcess archive(SingleFacilityOptions());
  MakeDeluxe(archive);
  const auto descriptions = DescribeDicom(files);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path profile = data.path() / ("profile" + std::to_string(i) + ".cfg");
    WriteSingleContextProfile(profile, descriptions[i].sop_class_uid,
                              descriptions[i].transfer_syntax_uid);
    const ToolResult stored =
        archive.StoreScu("IT_MODALITY", {"-xf", profile.string(), "ONLY"}, {files[i].string()});
    INFO(stored.Describe());
    REQUIRE(stored.exit_code == 0);
  }
  const ToolResult exported = ExportNow(archive, data.path() / "media");
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  const fs::path folder = archive.sql().Value("SELECT folder FROM offline_exports");
  CHECK(archive.sql().Value("SELECT instances || '/' || refused_instances FROM offline_exports") ==
        std::to_string(files.size()) + "/0");
  CHECK(FilesReferenced(folder / "DICOMDIR") == static_cast<int>(files.size()));
  std::vector<std::string> uids;
  for (const auto& row : archive.sql().Query("SELECT study_instance_uid FROM studies")) {
    uids.push_back(*row[0]);
  }
  CHECK(ChecksumsOnMedia(folder) == StoredChecksums(archive, uids));
  // DICOMDIR names each file's transfer syntax as stored.
  const ToolResult syntaxes =
      RunTool({"dcmdump", "-Un", "+P", "0004,1512", (folder / "DICOMDIR").string()});
  for (const auto& description : descriptions) {
    CHECK(syntaxes.output.find(description.transfer_syntax_uid) != std::string::npos);
  }
}

TEST_CASE("hokan export refuses an economy facility and bad arguments, writing nothing",
          "[export]") {
  TempDir data("hokan-it-export");
  const fs::path export_root = data.path() / "media";
  ArchiveProcess archive(SingleFacilityOptions());  // the provisional contract is economy
  StoreStudy(archive, data.path() / "study", 1);

  const ToolResult economy = ExportNow(archive, export_root);
  INFO(economy.Describe());
  CHECK(economy.exit_code == 2);
  CHECK(economy.output.find("not deluxe") != std::string::npos);

  const std::vector<std::vector<std::string>> bad = {
      {"export", "--facility", "nowhere", "--now", "--export-root", export_root.string(),
       "--storage-root", archive.storage_root().string()},
      {"export", "--facility", "clinic", "--export-root", export_root.string()},
      {"export", "--now", "--export-root", export_root.string()},
      {"export", "--facility", "clinic", "--now", "--storage-root",
       archive.storage_root().string()},  // no export root, no --config
      {"export", "--facility", "clinic", "--now", "--export-root", export_root.string(),
       "--storage-root", (data.path() / "missing").string()},
      {"export", "list", "--now"},
  };
  MakeDeluxe(archive);  // even deluxe, bad arguments change nothing
  for (const auto& arguments : bad) {
    const ToolResult refused = Admin(archive, arguments);
    INFO(refused.Describe());
    CHECK(refused.exit_code == 2);
  }
  CHECK_FALSE(fs::exists(export_root));
  CHECK(archive.sql().Count("SELECT count(*) FROM offline_exports") == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action LIKE 'export.%'") == 0);
}

TEST_CASE("the scheduled export runs once a day after export_at and clears a leftover .partial",
          "[export]") {
  TempDir data("hokan-it-export");
  const fs::path export_root = data.path() / "media";
  ArchiveOptions options = SingleFacilityOptions();
  // The test's base: 01:00 of the system clock's day.
  const std::string today = UtcDate(0);
  const std::string tomorrow = UtcDate(1);
  options.controlled_clock = true;
  options.initial_clock = today + "T01:00:00Z";
  options.extra_archive_settings = {"export_root = " + export_root.string()};
  ArchiveProcess archive(options);
  const std::string study = StoreStudy(archive, data.path() / "study", 2);
  MakeDeluxe(archive);
  const std::string facility_id = archive.sql().Value(std::string("SELECT ") + kFacilityId);

  // A crashed earlier attempt of tomorrow's export left its .partial folder.
  const std::string name =
      tomorrow.substr(0, 4) + tomorrow.substr(5, 2) + tomorrow.substr(8, 2) + "T020000Z";
  const fs::path leftover = export_root / "clinic" / (name + ".partial");
  fs::create_directories(leftover / "DICOM");
  WriteFileBytes(leftover / "DICOM" / "JUNK", "half-written");

  // The day's export_at (02:00) plus one minute to settle: due.
  archive.SetClock(tomorrow + "T02:01:30Z");
  const bool exported = WaitUntil(
      [&] { return archive.sql().Count("SELECT count(*) FROM offline_exports") == 1; }, 60s, 100ms);
  INFO(archive.Log());
  REQUIRE(exported);
  const fs::path folder = export_root / "clinic" / name;
  CHECK(fs::absolute(folder).string() == archive.sql().Value("SELECT folder FROM offline_exports"));
  CHECK(StudiesListed(folder / "DICOMDIR") == std::set<std::string>{study});
  CHECK(ChecksumsOnMedia(folder) == StoredChecksums(archive, {study}));
  CHECK_FALSE(fs::exists(leftover));
  CHECK(archive.sql().Value("SELECT to_char(cut_off AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                            "FROM offline_exports") == tomorrow + " 02:00");
  CHECK(archive.sql().Value("SELECT actor FROM offline_exports") == "hokan-archive@hokan-it");
  const std::string key = "offline-export:" + facility_id + ":" + tomorrow;
  CHECK(WaitUntil(
      [&] {
        return archive.sql().Value("SELECT state FROM jobs WHERE dedupe_key = $1", {key}) == "done";
      },
      30s));
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'export.write'") == 1);

  // Later that day the scheduler enqueues nothing more; a restart neither.
  archive.SetClock(tomorrow + "T23:00:00Z");
  archive.Restart();
  CHECK(archive.sql().Count("SELECT count(*) FROM jobs WHERE kind = 'offline-export' AND "
                            "dedupe_key LIKE $1",
                            {"offline-export:" + facility_id + ":" + tomorrow}) == 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM offline_exports") == 1);
  CHECK(ListFilesRecursive(export_root / "clinic").size() == 3);  // DICOMDIR + 2 files
}

}  // namespace hokan::integration

namespace hokan::integration {

TEST_CASE("an export killed before or after its rename is redone once after a restart",
          "[export]") {
  for (const std::string failpoint : {"export-before-rename", "export-after-rename"}) {
    DYNAMIC_SECTION(failpoint) {
      TempDir data("hokan-it-export");
      const fs::path export_root = data.path() / "media";
      ArchiveOptions options = SingleFacilityOptions();
      const std::string today = UtcDate(0);
      const std::string tomorrow = UtcDate(1);
      options.controlled_clock = true;
      options.initial_clock = today + "T01:00:00Z";
      options.extra_archive_settings = {"export_root = " + export_root.string()};
      ArchiveProcess archive(options);
      const std::string study = StoreStudy(archive, data.path() / "study", 3);
      MakeDeluxe(archive);
      const std::string name =
          tomorrow.substr(0, 4) + tomorrow.substr(5, 2) + tomorrow.substr(8, 2) + "T020000Z";
      const fs::path folder = export_root / "clinic" / name;

      archive.Stop();
      archive.SetExtraEnvironment({{"HOKAN_FAILPOINTS", failpoint}});
      archive.Start();
      archive.SetClock(tomorrow + "T02:05:00Z");
      INFO(archive.Log());
      REQUIRE(WaitUntil([&] { return !archive.Running(); }, 60s, 100ms));  // "crashed"
      CHECK(archive.sql().Count("SELECT count(*) FROM offline_exports") == 0);
      if (failpoint == "export-before-rename") {
        CHECK(fs::is_regular_file(folder.string() + ".partial/DICOMDIR"));
        CHECK_FALSE(fs::exists(folder));
      } else {
        CHECK(fs::is_regular_file(folder / "DICOMDIR"));
        CHECK_FALSE(fs::exists(folder.string() + ".partial"));
      }

      archive.SetExtraEnvironment({});
      archive.Start();
      REQUIRE(WaitUntil(
          [&] { return archive.sql().Count("SELECT count(*) FROM offline_exports") == 1; }, 60s,
          100ms));
      CHECK(archive.sql().Value("SELECT folder FROM offline_exports") ==
            fs::absolute(folder).string());
      CHECK(StudiesListed(folder / "DICOMDIR") == std::set<std::string>{study});
      CHECK(ChecksumsOnMedia(folder) == StoredChecksums(archive, {study}));
      CHECK_FALSE(fs::exists(folder.string() + ".partial"));
      std::vector<fs::path> entries;
      for (const auto& entry : fs::directory_iterator(export_root / "clinic")) {
        entries.push_back(entry.path());
      }
      CHECK(entries == std::vector<fs::path>{folder});
      CHECK(archive.sql().Count(
                "SELECT count(*) FROM audit_log WHERE action = 'export.write'") == 1);
    }
  }
}

}  // namespace hokan::integration
