// The services' file steps run on MemoryFileStore, without a disk for the
// stored files (and without PostgreSQL): expiry's set-aside, drop and
// put-back of a deletion, and the offline export's copy to the media.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "archive/common/error.h"
#include "archive/export/media_copy.h"
#include "archive/retention/deletion_files.h"
#include "archive/storage/memory_file_store.h"

namespace fs = std::filesystem;
using namespace hokan::archive;

namespace {

const std::vector<std::string> kStudy = {"1/2.25.1/2.25.2/2.25.3.dcm",
                                         "1/2.25.1/2.25.2/2.25.4.dcm",
                                         "1/2.25.1/2.25.5/2.25.6.dcm"};

void PutStudy(MemoryFileStore& store) {
  for (const auto& path : kStudy) store.Put(path, "bytes of " + path);
}

}  // namespace

TEST_CASE("expiry deletion files: set aside, then dropped when the deletion commits",
          "[expiry]") {
  MemoryFileStore store;
  PutStudy(store);
  store.Put("1/2.25.7/2.25.8/2.25.9.dcm", "another study");
  CHECK(SetAsideDeletionFiles(store, 11, kStudy).empty());
  CHECK(store.StoredNames() == std::vector<std::string>{"1/2.25.7/2.25.8/2.25.9.dcm"});
  CHECK(store.QuarantinedNames(11).size() == 3);
  // A crash and the next run: the same step again changes nothing.
  CHECK(SetAsideDeletionFiles(store, 11, kStudy).empty());
  DropDeletionFiles(store, 11, kStudy);
  DropDeletionFiles(store, 11, kStudy);
  CHECK(store.QuarantinedNames(11).empty());
  CHECK(store.StoredNames().size() == 1);
}

TEST_CASE("expiry deletion files: a cancelled deletion puts files back, never over a new one",
          "[expiry]") {
  MemoryFileStore store;
  PutStudy(store);
  const auto lost = SetAsideDeletionFiles(store, 12, {kStudy[0], kStudy[1], "1/2.25.1/x.dcm"});
  CHECK(lost == std::vector<std::string>{"1/2.25.1/x.dcm"});
  store.Put(kStudy[0], "stored again meanwhile");
  PutBackDeletionFiles(store, 12, {kStudy[0], kStudy[1]});
  CHECK(store.Bytes(kStudy[0]) == std::string("stored again meanwhile"));
  CHECK(store.Bytes(kStudy[1]) == "bytes of " + kStudy[1]);
  CHECK(store.QuarantinedNames(12).empty());
}

TEST_CASE("offline export copies stored files to their media names, byte-identical",
          "[export]") {
  MemoryFileStore store;
  PutStudy(store);
  std::vector<ExportSourceInstance> due;
  for (const auto& path : kStudy) {
    const fs::path parts(path);
    ExportSourceInstance instance;
    auto part = parts.begin();
    instance.study_instance_uid = (++part)->string();
    instance.series_instance_uid = (++part)->string();
    instance.sop_instance_uid = parts.stem().string();
    instance.relative_path = path;
    instance.size_bytes = static_cast<std::int64_t>(("bytes of " + path).size());
    due.push_back(instance);
  }
  std::random_device random;
  const fs::path media =
      fs::temp_directory_path() / ("hokan_media_copy_test_" + std::to_string(random()));
  fs::create_directories(media);

  const MediaCopy copy = CopyToMedia(store, due, media);
  REQUIRE(copy.file_ids.size() == 3);
  for (std::size_t i = 0; i < due.size(); ++i) {
    std::ifstream file(media / copy.file_ids[i], std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(file), {}) ==
          "bytes of " + due[i].relative_path);
    CHECK(copy.instance_of_file.at(copy.file_ids[i]) == i);
  }
  CHECK(copy.study_folder_of[0] == copy.study_folder_of[2]);  // one study

  OfflineExportRecord record;
  const auto studies = SummarizeStudies(due, copy, {1}, record);
  REQUIRE(studies.size() == 1);
  CHECK(studies[0].instances == 2);
  CHECK(record.instances == 2);
  CHECK(record.bytes == due[0].size_bytes + due[2].size_bytes);

  SECTION("a stored file that is missing names the instance") {
    store.Remove(kStudy[1]);
    const fs::path again = media / "again";
    fs::create_directories(again);
    try {
      CopyToMedia(store, due, again);
      FAIL("the copy did not fail");
    } catch (const hokan::Error& error) {
      CHECK(error.code() == hokan::ErrorCode::kStorage);
      CHECK_THAT(error.what(), Catch::Contains("instance 2.25.4"));
    }
  }
  fs::remove_all(media);
}
