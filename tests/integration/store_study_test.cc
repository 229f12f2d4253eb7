// Storing a generated study with storescu: index rows, files on disk,
// checksums, and byte-identical data sets.
//
// What "byte-identical" means here (established with DCMTK's `storescp +B`,
// i.e. bit-preserving, as the reference receiver):
// - A receiver writes its own file meta header (group 0002: implementation
//   class, source AE title, group length differ), so only the DATA SET, the
//   bytes after the meta group, is compared.
// - storescu does not send a file's data set verbatim: DCMTK parses the file
//   and encodes it again (it drops Data Set Trailing Padding (FFFC,FFFC),
//   writes sequences and items with explicit lengths, recalculates group
//   length elements). For files that DCMTK would write identically, the
//   sent data set equals the file's. tests/data/make_study.py writes exactly
//   such files (checked with storescp +B -F: the received data set equals
//   the source's), so here the stored data set must equal the source file's
//   data set, byte for byte. The pydicom corpus test uses storescp +B as an
//   oracle instead (see corpus_test.cc).

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <map>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"

namespace hokan::integration {

TEST_CASE("a study of 100 instances sent with storescu is indexed and stored byte-identical",
          "[store]") {
  TempDir data("hokan-it-study");
  auto instances =
      MakeStudy(data.path() / "study", {"--count", "100", "--series-count", "2", "--patient-id",
                                        "PAT-100", "--patient-name", "HUNDRED^INSTANCES"});
  REQUIRE(instances.size() == 100);
  std::map<std::string, fs::path> source_by_uid;
  for (const auto& instance : instances) source_by_uid[instance.sop_instance_uid] = instance.path;

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  // One storescu run = one association for all 100 files.
  ToolResult store =
      archive.StoreScu("IT_MODALITY", {"-v", "+sd"}, {(data.path() / "study").string()});
  INFO(store.Describe());
  REQUIRE(store.exit_code == 0);
  CHECK(CountOccurrences(store.output, "Requesting Association") == 1);
  CHECK(CountStoreSuccesses(store.output) == 100);

  Sql& sql = archive.sql();
  CHECK(sql.Count("SELECT count(*) FROM instances") == 100);
  CHECK(sql.Count("SELECT count(*) FROM series") == 2);
  CHECK(sql.Count("SELECT count(*) FROM studies") == 1);
  CHECK(sql.Count("SELECT count(*) FROM patients") == 1);
  CHECK(sql.Value("SELECT patient_id FROM patients") == "PAT-100");
  CHECK(sql.Value("SELECT patient_name FROM patients") == "HUNDRED^INSTANCES");
  const std::string facility_id = sql.Value("SELECT id FROM facilities WHERE name = 'clinic'");

  auto rows = sql.Query(
      "SELECT i.sop_instance_uid, i.relative_path, i.checksum_sha256, i.size_bytes, "
      "       i.transfer_syntax_uid, i.calling_ae, i.sop_class_uid, i.facility_id, "
      "       st.study_instance_uid, se.series_instance_uid "
      "FROM instances i JOIN series se ON se.id = i.series_fk "
      "JOIN studies st ON st.id = se.study_fk ORDER BY i.sop_instance_uid");
  REQUIRE(rows.size() == 100);
  for (const auto& row : rows) {
    const std::string sop_uid = *row[0];
    const std::string relative_path = *row[1];
    INFO("instance " << sop_uid << " at " << relative_path);
    REQUIRE(source_by_uid.count(sop_uid) == 1);
    CHECK(relative_path == fmt::format("{}/{}/{}/{}.dcm", facility_id, *row[8], *row[9], sop_uid));
    CHECK(*row[7] == facility_id);
    CHECK(*row[4] == kExplicitVrLittleEndian);
    CHECK(*row[5] == "IT_MODALITY");
    CHECK(*row[6] == kCtImageStorage);

    const fs::path stored = archive.storage_root() / relative_path;
    REQUIRE(fs::is_regular_file(stored));
    const std::string stored_bytes = ReadFileBytes(stored);
    CHECK(Sha256Hex(stored_bytes) == *row[2]);
    CHECK(std::to_string(stored_bytes.size()) == *row[3]);

    Part10File stored_file = SplitPart10(stored_bytes);
    Part10File source_file = ReadPart10(source_by_uid[sop_uid]);
    CHECK(stored_file.transfer_syntax_uid == kExplicitVrLittleEndian);
    CHECK(stored_file.media_storage_sop_instance_uid == sop_uid);
    CHECK(stored_file.media_storage_sop_class_uid == kCtImageStorage);
    CHECK(stored_file.data_set.size() == source_file.data_set.size());
    CHECK(stored_file.data_set == source_file.data_set);
  }

  // Every stored file has its row; nothing is left in the incoming folder.
  CHECK(ListFilesRecursive(archive.storage_root() / facility_id).size() == 100);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
}

}  // namespace hokan::integration
