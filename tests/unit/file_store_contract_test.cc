// The FileStore contract (archive/storage/file_store.h), checked on every
// implementation: FsFileStore on a temporary folder and MemoryFileStore.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "archive/common/error.h"
#include "archive/storage/fs_file_store.h"
#include "archive/storage/memory_file_store.h"

namespace fs = std::filesystem;
using hokan::archive::FileStore;
using hokan::archive::FsFileStore;
using hokan::archive::MemoryFileStore;
using hokan::archive::PlacedFile;

namespace {

struct TemporaryFolder {
  TemporaryFolder() {
    std::random_device random;
    path = fs::temp_directory_path() / ("hokan_store_contract_test_" + std::to_string(random()));
    fs::create_directories(path);
  }
  ~TemporaryFolder() { fs::remove_all(path); }
  fs::path path;
};

std::string ReadLocal(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// One implementation under test, with a way to write an incoming file.
struct StoreUnderTest {
  virtual ~StoreUnderTest() = default;
  virtual FileStore& store() = 0;
  virtual fs::path WriteIncoming(const std::string& bytes) = 0;
};

struct OnDisk : StoreUnderTest {
  TemporaryFolder root;
  FsFileStore files{root.path, "node-a"};
  FileStore& store() override { return files; }
  fs::path WriteIncoming(const std::string& bytes) override {
    const fs::path incoming = files.NewIncomingPath();
    std::ofstream(incoming, std::ios::binary) << bytes;
    return incoming;
  }
};

struct InMemory : StoreUnderTest {
  MemoryFileStore files;
  FileStore& store() override { return files; }
  fs::path WriteIncoming(const std::string& bytes) override {
    const fs::path incoming = files.NewIncomingPath();
    files.WriteIncoming(incoming, bytes);
    return incoming;
  }
};

std::unique_ptr<StoreUnderTest> MakeStore(const std::string& kind) {
  if (kind == "fs") return std::make_unique<OnDisk>();
  return std::make_unique<InMemory>();
}

std::string ReadStored(const FileStore& store, const std::string& relative_path) {
  auto reader = store.OpenRead(relative_path);
  std::string bytes;
  char buffer[3];  // small on purpose: several reads per file
  while (const std::size_t got = reader->Read(buffer, sizeof buffer)) bytes.append(buffer, got);
  CHECK(bytes.size() == reader->Size());
  return bytes;
}

// Places `bytes` under `relative_path` and releases it; true when placed.
bool PlaceNew(StoreUnderTest& under_test, const std::string& relative_path,
              const std::string& bytes) {
  FileStore& store = under_test.store();
  const fs::path incoming = under_test.WriteIncoming(bytes);
  PlacedFile placed;
  if (!store.Place(incoming, relative_path, &placed)) {
    store.RemoveIncoming(incoming);
    return false;
  }
  store.SyncAll();
  store.Release(placed);
  return true;
}

const std::string kFile = "1/2.25.1/2.25.2/2.25.3.dcm";
const std::string kOther = "1/2.25.1/2.25.2/2.25.4.dcm";

}  // namespace

TEST_CASE("file store contract", "[storage]") {
  const std::string kind = GENERATE(as<std::string>{}, "fs", "memory");
  INFO("implementation: " << kind);
  auto under_test = MakeStore(kind);
  FileStore& store = under_test->store();

  SECTION("a placed file reads back, with its checksum") {
    REQUIRE(PlaceNew(*under_test, kFile, "abcdefgh"));
    CHECK(ReadStored(store, kFile) == "abcdefgh");
    const auto facts = store.Checksum(kFile);
    CHECK(facts.size_bytes == 8);
    CHECK(facts.sha256_hex == "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab");
  }
  SECTION("place refuses a name that is taken and changes nothing") {
    REQUIRE(PlaceNew(*under_test, kFile, "first"));
    CHECK_FALSE(PlaceNew(*under_test, kFile, "second"));
    CHECK(ReadStored(store, kFile) == "first");
  }
  SECTION("discard undoes a placement") {
    const fs::path incoming = under_test->WriteIncoming("gone");
    PlacedFile placed;
    REQUIRE(store.Place(incoming, kFile, &placed));
    store.Discard(placed);
    CHECK_THROWS_AS(store.OpenRead(kFile), hokan::Error);
  }
  SECTION("the sweep keeps an unreleased placement only when asked to") {
    const fs::path kept = under_test->WriteIncoming("kept");
    const fs::path dropped = under_test->WriteIncoming("dropped");
    PlacedFile placed_kept, placed_dropped;
    REQUIRE(store.Place(kept, kFile, &placed_kept));
    REQUIRE(store.Place(dropped, kOther, &placed_dropped));
    under_test->WriteIncoming("partial");
    const int settled = store.SweepIncoming(
        [](const std::string& name, const hokan::archive::FileFacts& facts) {
          return name == kFile && facts.size_bytes == 4;
        });
    CHECK(settled == 3);
    CHECK(ReadStored(store, kFile) == "kept");
    CHECK_THROWS_AS(store.Checksum(kOther), hokan::Error);
  }
  SECTION("a missing file is an error naming it") {
    try {
      store.OpenRead(kFile);
      FAIL("OpenRead of a missing file returned");
    } catch (const hokan::Error& error) {
      CHECK(error.code() == hokan::ErrorCode::kStorage);
      CHECK_THAT(error.what(), Catch::Contains("2.25.3.dcm"));
    }
    CHECK_THROWS_AS(store.Checksum(kFile), hokan::Error);
  }
  SECTION("remove takes a stored file away and says whether there was one") {
    REQUIRE(PlaceNew(*under_test, kFile, "x"));
    CHECK(store.Remove(kFile));
    CHECK_FALSE(store.Remove(kFile));
    CHECK_THROWS_AS(store.OpenRead(kFile), hokan::Error);
  }
  SECTION("quarantine sets files aside; restore puts back all but a name taken again") {
    REQUIRE(PlaceNew(*under_test, kFile, "one"));
    REQUIRE(PlaceNew(*under_test, kOther, "two"));
    const std::vector<std::string> study = {kFile, kOther, "1/2.25.1/2.25.5/2.25.6.dcm"};
    const auto lost = store.Quarantine(9, study);
    REQUIRE(lost.size() == 1);
    CHECK(lost[0] == study[2]);
    CHECK(store.Quarantine(9, study) == lost);  // repeatable
    CHECK_THROWS_AS(store.OpenRead(kFile), hokan::Error);
    REQUIRE(PlaceNew(*under_test, kFile, "stored again"));
    store.RestoreQuarantined(9, study);
    store.RestoreQuarantined(9, study);  // repeatable
    store.RemoveQuarantine(9);
    CHECK(ReadStored(store, kFile) == "stored again");
    CHECK(ReadStored(store, kOther) == "two");
  }
  SECTION("a removed quarantine set takes its files with it") {
    REQUIRE(PlaceNew(*under_test, kFile, "one"));
    CHECK(store.Quarantine(4, {kFile}).empty());
    store.RemoveQuarantine(4);
    store.RemoveQuarantine(4);  // repeatable
    store.PruneEmptyFolders({kFile});
    store.RestoreQuarantined(4, {kFile});  // nothing left to restore
    CHECK_THROWS_AS(store.OpenRead(kFile), hokan::Error);
  }
  SECTION("names outside the store are refused") {
    CHECK_THROWS_AS(store.OpenRead("../escape.dcm"), hokan::Error);
    CHECK_THROWS_AS(store.Quarantine(1, {"/etc/passwd"}), hokan::Error);
    CHECK_THROWS_AS(store.Remove(""), hokan::Error);
  }
  SECTION("copy out writes the stored bytes to a local file") {
    TemporaryFolder target;
    REQUIRE(PlaceNew(*under_test, kFile, "to the media"));
    store.CopyOut(kFile, target.path / "IM000001");
    CHECK(ReadLocal(target.path / "IM000001") == "to the media");
    CHECK_THROWS_AS(store.CopyOut(kOther, target.path / "IM000002"), hokan::Error);
  }
  SECTION("free space is known") { CHECK(store.AvailableBytes() > 0); }
}

TEST_CASE("LocalPath: a file name on disk, none in memory", "[storage]") {
  OnDisk disk;
  REQUIRE(PlaceNew(disk, kFile, "abc"));
  const auto local = disk.files.LocalPath(kFile);
  REQUIRE(local);
  CHECK(ReadLocal(*local) == "abc");
  MemoryFileStore memory;
  CHECK_FALSE(memory.LocalPath(kFile));
}

TEST_CASE("read-ahead of 500 files returns at once and never throws", "[storage]") {
  OnDisk disk;
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) {
    names.push_back("1/2.25.1/2.25.2/2.25." + std::to_string(i) + ".dcm");
    if (i % 2 == 0) REQUIRE(PlaceNew(disk, names.back(), std::string(1024, 'x')));
  }  // every other file missing, and a name outside the store: still no error
  names.push_back("../outside.dcm");
  const auto started = std::chrono::steady_clock::now();
  disk.files.ReadAhead(names);
  disk.files.ReadAhead(names);  // a newer list replaces the older one
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(250));
  CHECK(ReadStored(disk.files, names[0]) == std::string(1024, 'x'));
}

TEST_CASE("a store opened without a node name takes no new files", "[storage]") {
  TemporaryFolder root;
  FsFileStore reader(root.path);
  CHECK_FALSE(fs::exists(root.path / ".incoming"));
  PlacedFile placed;
  CHECK_THROWS_AS(reader.Place(root.path / "x.part", kFile, &placed), hokan::Error);
}
