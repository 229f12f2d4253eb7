// Re-storing a SOP Instance UID: identical content is an idempotent success;
// different content is refused with 0xC010 and the stored copy is kept.
// Statuses are read from `storescu -d` (DCMTK 3.6.7 prints the hex status
// only in its debug dump of the response: "DIMSE Status : 0xc010: ...";
// -v prints a class name only, e.g. "Error: CannotUnderstand" for any 0xCxxx).

#include <catch2/catch.hpp>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"

namespace hokan::integration {
namespace {

struct StoredRow {
  std::string id, relative_path, checksum, size, received_at;
};

StoredRow RowFor(Sql& sql, const std::string& sop_uid) {
  auto rows = sql.Query(
      "SELECT id, relative_path, checksum_sha256, size_bytes, received_at FROM instances "
      "WHERE sop_instance_uid = $1",
      {sop_uid});
  REQUIRE(rows.size() == 1);
  return {*rows[0][0], *rows[0][1], *rows[0][2], *rows[0][3], *rows[0][4]};
}

}  // namespace

TEST_CASE("re-storing identical content succeeds and adds no row", "[store][duplicate]") {
  TempDir data("hokan-it-dup");
  auto instances = MakeStudy(data.path() / "one", {"--count", "1"});
  REQUIRE(instances.size() == 1);
  const std::string sop_uid = instances[0].sop_instance_uid;

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  ToolResult first = archive.StoreScu("IT_MODALITY", {"-v"}, {instances[0].path.string()});
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  const StoredRow before = RowFor(archive.sql(), sop_uid);
  const std::string stored_before = ReadFileBytes(archive.storage_root() / before.relative_path);

  ToolResult second = archive.StoreScu("IT_MODALITY", {"-d"}, {instances[0].path.string()});
  INFO(second.Describe());
  CHECK(second.exit_code == 0);
  CHECK(DimseStatusesFromDebugOutput(second.output) == std::vector<std::uint16_t>{0x0000});

  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
  const StoredRow after = RowFor(archive.sql(), sop_uid);
  CHECK(after.id == before.id);
  CHECK(after.checksum == before.checksum);
  CHECK(after.relative_path == before.relative_path);
  CHECK(ReadFileBytes(archive.storage_root() / after.relative_path) == stored_before);
  CHECK(ListFilesRecursive(archive.storage_root() / fs::path(after.relative_path).begin()->string())
            .size() == 1);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
}

TEST_CASE("re-storing different content under a stored SOP Instance UID fails with 0xC010",
          "[store][duplicate]") {
  TempDir data("hokan-it-dup");
  const std::string study = "2.25.1000000000000000000000000000000001";
  const std::string series = "2.25.1000000000000000000000000000000002";
  const std::string sop = "2.25.1000000000000000000000000000000003";
  const std::vector<std::string> same_uids{"--count",      "1",    "--study-uid",        study,
                                           "--series-uid", series, "--sop-instance-uid", sop};
  auto original_args = same_uids;
  original_args.insert(original_args.end(), {"--seed", "1"});
  auto changed_args = same_uids;
  changed_args.insert(changed_args.end(), {"--seed", "2"});
  auto original = MakeStudy(data.path() / "original", original_args);
  auto changed = MakeStudy(data.path() / "changed", changed_args);
  REQUIRE(ReadPart10(original[0].path).data_set != ReadPart10(changed[0].path).data_set);

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  ToolResult first = archive.StoreScu("IT_MODALITY", {"-v"}, {original[0].path.string()});
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  const StoredRow before = RowFor(archive.sql(), sop);
  const std::string stored_before = ReadFileBytes(archive.storage_root() / before.relative_path);

  ToolResult second = archive.StoreScu("IT_MODALITY", {"-d"}, {changed[0].path.string()});
  INFO(second.Describe());
  CHECK(DimseStatusesFromDebugOutput(second.output) == std::vector<std::uint16_t>{0xC010});
  CHECK(second.exit_code == StorescuExitCodeFor(0xC010));
  CHECK(ContainsIgnoreCase(archive.Log(), "0xC010"));

  // The original row and file are untouched.
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
  const StoredRow after = RowFor(archive.sql(), sop);
  CHECK(after.id == before.id);
  CHECK(after.checksum == before.checksum);
  CHECK(after.size == before.size);
  CHECK(after.received_at == before.received_at);
  CHECK(after.relative_path == before.relative_path);
  const std::string stored_after = ReadFileBytes(archive.storage_root() / after.relative_path);
  CHECK(stored_after == stored_before);
  CHECK(Sha256Hex(stored_after) == before.checksum);
  CHECK(SplitPart10(stored_after).data_set == ReadPart10(original[0].path).data_set);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());

  // And the original can still be re-sent successfully.
  ToolResult third = archive.StoreScu("IT_MODALITY", {"-d"}, {original[0].path.string()});
  INFO(third.Describe());
  CHECK(DimseStatusesFromDebugOutput(third.output) == std::vector<std::uint16_t>{0x0000});
}

}  // namespace hokan::integration
