// FsFileStore's quarantine of a study's files during expiry: every step
// repeatable after a crash, restores never overwrite, pruning leaves
// folders in use.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "archive/common/error.h"
#include "archive/storage/fs_file_store.h"

namespace fs = std::filesystem;
using hokan::archive::FsFileStore;

namespace {

struct TemporaryFolder {
  TemporaryFolder() {
    std::random_device random;
    path = fs::temp_directory_path() / ("hokan_quarantine_test_" + std::to_string(random()));
    fs::create_directories(path);
  }
  ~TemporaryFolder() { fs::remove_all(path); }
  fs::path path;
};

void Write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string Read(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

const std::vector<std::string> kStudy = {"1/2.25.1/2.25.2/2.25.3.dcm",
                                         "1/2.25.1/2.25.2/2.25.4.dcm",
                                         "1/2.25.1/2.25.5/2.25.6.dcm"};

}  // namespace

TEST_CASE("quarantine moves a study's files aside, repeatably", "[expiry]") {
  TemporaryFolder root;
  for (const auto& path : kStudy) Write(root.path / path, path);
  // A trailing separator in the root changes nothing.
  FsFileStore quarantine(root.path.string() + "/");
  const fs::path folder = root.path / ".quarantine" / "7";

  CHECK(quarantine.Quarantine(7, kStudy).empty());
  for (const auto& path : kStudy) {
    CHECK_FALSE(fs::exists(root.path / path));
    CHECK(Read(folder / path) == path);
  }
  // After a crash the same call again: nothing lost, nothing moved twice.
  CHECK(quarantine.Quarantine(7, kStudy).empty());

  SECTION("removing it, and pruning the empty folders, leaves nothing behind") {
    quarantine.RemoveQuarantine(7);
    quarantine.RemoveQuarantine(7);  // repeatable
    quarantine.PruneEmptyFolders(kStudy);
    CHECK_FALSE(fs::exists(folder));
    CHECK_FALSE(fs::exists(root.path / "1" / "2.25.1"));
    CHECK(fs::exists(root.path / "1"));  // the facility folder stays
  }
  SECTION("restoring puts files back but never over a file that has the name again") {
    Write(root.path / kStudy[0], "stored again");
    quarantine.RestoreQuarantined(7, kStudy);
    quarantine.RestoreQuarantined(7, kStudy);  // repeatable
    CHECK(Read(root.path / kStudy[0]) == "stored again");
    CHECK(Read(root.path / kStudy[1]) == kStudy[1]);
    CHECK(Read(root.path / kStudy[2]) == kStudy[2]);
    quarantine.RemoveQuarantine(7);
    CHECK_FALSE(fs::exists(folder));
  }
}

TEST_CASE("quarantine reports files missing from both places", "[expiry]") {
  TemporaryFolder root;
  Write(root.path / kStudy[0], "x");
  FsFileStore quarantine(root.path);
  const auto lost = quarantine.Quarantine(3, {kStudy[0], kStudy[1]});
  REQUIRE(lost.size() == 1);
  CHECK(lost[0] == kStudy[1]);
}

TEST_CASE("pruning keeps a folder that received a file meanwhile", "[expiry]") {
  TemporaryFolder root;
  for (const auto& path : kStudy) Write(root.path / path, path);
  FsFileStore quarantine(root.path);
  quarantine.Quarantine(4, kStudy);
  Write(root.path / "1/2.25.1/2.25.2/2.25.9.dcm", "new");
  quarantine.PruneEmptyFolders(kStudy);
  CHECK(fs::exists(root.path / "1/2.25.1/2.25.2/2.25.9.dcm"));
  CHECK_FALSE(fs::exists(root.path / "1/2.25.1/2.25.5"));
}

TEST_CASE("quarantine refuses paths outside the storage root", "[expiry]") {
  TemporaryFolder root;
  FsFileStore quarantine(root.path);
  CHECK_THROWS_AS(quarantine.Quarantine(1, {"../escape.dcm"}), hokan::Error);
  CHECK_THROWS_AS(quarantine.Quarantine(1, {"/etc/passwd"}), hokan::Error);
  CHECK_THROWS_AS(quarantine.RestoreQuarantined(1, {""}), hokan::Error);
}
