// Crash safety: kill -9 in the middle of a transfer, then start again. The
// start-up sweep removes what the dead process left in the incoming folder,
// and everything stored before the crash is intact (rows, files, checksums).

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"

namespace hokan::integration {

TEST_CASE("after kill -9 the start-up sweep removes leftovers and stored data is unchanged",
          "[crash]") {
  TempDir data("hokan-it-crash");
  auto study = MakeStudy(data.path() / "study", {"--count", "5"});
  auto big =
      MakeStudy(data.path() / "big", {"--count", "1", "--rows", "2048", "--columns", "2048"});
  REQUIRE(study.size() == 5);
  REQUIRE(big.size() == 1);
  const Part10File big_file = ReadPart10(big[0].path);

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  ToolResult store =
      archive.StoreScu("IT_MODALITY", {"-v", "+sd"}, {(data.path() / "study").string()});
  INFO(store.Describe());
  REQUIRE(store.exit_code == 0);

  // What is stored before the crash: rows and file contents.
  const char* kSnapshot =
      "SELECT sop_instance_uid, relative_path, checksum_sha256, size_bytes, received_at "
      "FROM instances ORDER BY sop_instance_uid";
  const auto rows_before = archive.sql().Query(kSnapshot);
  REQUIRE(rows_before.size() == 5);
  std::map<std::string, std::string> files_before;
  for (const auto& file : ListFilesRecursive(archive.storage_root())) {
    files_before[file.string()] = ReadFileBytes(file);
  }
  REQUIRE(files_before.size() == 5);

  // Crash while a transfer is half-way: the incoming file is on disk.
  {
    RawDicomConnection raw(archive.port());
    REQUIRE(raw.Associate("IT_MODALITY", archive.ae_title(),
                          {{1, kCtImageStorage, {kExplicitVrLittleEndian}}})
                .kind == AssociateOutcome::Kind::kAccepted);
    raw.SendStoreCommand(1, 1, kCtImageStorage, big_file.media_storage_sop_instance_uid);
    raw.SendDataSet(1,
                    std::string_view(big_file.data_set).substr(0, big_file.data_set.size() / 4 * 2),
                    /*last=*/false);
    REQUIRE(
        WaitUntil([&] { return !ListFilesRecursive(archive.incoming_dir()).empty(); }, 30s, 10ms));
    archive.Kill();
  }
  const auto leftovers = ListFilesRecursive(archive.incoming_dir());
  INFO("left in the incoming folder by the killed process: " << leftovers.size());
  REQUIRE(!leftovers.empty());

  archive.Start();
  INFO("archive log:\n" << archive.Log());
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
  for (const auto& leftover : leftovers) CHECK(!fs::exists(leftover));
  CHECK(archive.Log().find("start-up sweep settled") != std::string::npos);

  // Everything stored before is exactly as it was.
  CHECK(archive.sql().Query(kSnapshot) == rows_before);
  std::map<std::string, std::string> files_after;
  for (const auto& file : ListFilesRecursive(archive.storage_root())) {
    files_after[file.string()] = ReadFileBytes(file);
  }
  CHECK(files_after == files_before);
  for (const auto& row : rows_before) {
    CHECK(Sha256Hex(ReadFileBytes(archive.storage_root() / *row[1])) == *row[2]);
  }
  CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE sop_instance_uid = $1",
                            {big_file.media_storage_sop_instance_uid}) == 0);

  // It serves again: the interrupted instance can now be stored.
  ToolResult again = archive.StoreScu("IT_MODALITY", {"-v"}, {big[0].path.string()});
  INFO(again.Describe());
  CHECK(again.exit_code == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 6);

  // And a normal stop is clean.
  CHECK(archive.Stop() == 0);
}

// A crash between linking a file into place and acknowledging it leaves an
// intent record "<token>.<relative path, '/' as '~'>.linking" (a hard link
// to the placed file) in the node's incoming folder. This builds exactly
// that state for three cases and checks what the start-up sweep decides.
TEST_CASE("the start-up sweep settles files placed but never acknowledged", "[crash]") {
  TempDir data("hokan-it-intent");
  auto study = MakeStudy(data.path() / "study", {"--count", "3"});
  REQUIRE(study.size() == 3);
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  ToolResult store = archive.StoreScu("IT_MODALITY", {"-v"},
                                      {study[0].path.string(), study[1].path.string()});
  INFO(store.Describe());
  REQUIRE(store.exit_code == 0);
  const auto rows = archive.sql().Query(
      "SELECT sop_instance_uid, relative_path FROM instances ORDER BY sop_instance_uid");
  REQUIRE(rows.size() == 2);
  REQUIRE(archive.Stop() == 0);

  const fs::path incoming = archive.incoming_dir() / "hokan-it";
  fs::create_directories(incoming);
  auto intent_for = [&](const std::string& relative_path, const std::string& token) {
    std::string encoded = relative_path;
    std::replace(encoded.begin(), encoded.end(), '/', '~');
    return incoming / (token + "." + encoded + ".linking");
  };

  // 1. Indexed and intact (the crash came after COMMIT): kept.
  const std::string intact = *rows[0][1];
  const std::string intact_bytes = ReadFileBytes(archive.storage_root() / intact);
  fs::create_hard_link(archive.storage_root() / intact, intent_for(intact, "00000000000000a1"));

  // 2. Indexed, but the bytes were lost (flush and COMMIT raced the crash):
  //    file and row removed, since the store was never acknowledged.
  const std::string damaged = *rows[1][1];
  WriteFileBytes(archive.storage_root() / damaged, "lost in the crash");
  fs::create_hard_link(archive.storage_root() / damaged, intent_for(damaged, "00000000000000a2"));

  // 3. Placed but never indexed: removed.
  const std::string facility = intact.substr(0, intact.find('/'));
  const std::string orphan = facility + "/1.2.3/1.2.3.4/" + study[2].sop_instance_uid + ".dcm";
  fs::create_directories((archive.storage_root() / orphan).parent_path());
  fs::copy_file(study[2].path, archive.storage_root() / orphan);
  fs::create_hard_link(archive.storage_root() / orphan, intent_for(orphan, "00000000000000a3"));

  archive.Start();
  INFO("archive log:\n" << archive.Log());
  CHECK(archive.Log().find("start-up sweep settled 3 leftover(s)") != std::string::npos);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
  CHECK(ReadFileBytes(archive.storage_root() / intact) == intact_bytes);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE relative_path = $1",
                            {intact}) == 1);
  CHECK_FALSE(fs::exists(archive.storage_root() / damaged));
  CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE relative_path = $1",
                            {damaged}) == 0);
  CHECK_FALSE(fs::exists(archive.storage_root() / orphan));

  // The sender's retries then store both missing instances for real.
  const auto damaged_file = std::find_if(study.begin(), study.end(), [&](const auto& instance) {
    return instance.sop_instance_uid == *rows[1][0];
  });
  REQUIRE(damaged_file != study.end());
  ToolResult retry = archive.StoreScu("IT_MODALITY", {"-v"},
                                      {damaged_file->path.string(), study[2].path.string()});
  INFO(retry.Describe());
  CHECK(retry.exit_code == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 3);
  CHECK(archive.Stop() == 0);
}

}  // namespace hokan::integration
