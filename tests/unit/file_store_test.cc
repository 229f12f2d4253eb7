#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "archive/storage/fs_file_store.h"

namespace fs = std::filesystem;
using hokan::archive::FsFileStore;
using hokan::archive::PlacedFile;

namespace {

// A fresh folder removed at scope exit.
struct TemporaryFolder {
  TemporaryFolder() {
    std::random_device random;
    path = fs::temp_directory_path() / ("hokan_file_store_test_" + std::to_string(random()));
    fs::create_directories(path);
  }
  ~TemporaryFolder() { fs::remove_all(path); }
  fs::path path;
};

fs::path WriteIncoming(FsFileStore& store, const std::string& content) {
  const fs::path incoming = store.NewIncomingPath();
  std::ofstream(incoming, std::ios::binary) << content;
  return incoming;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace

TEST_CASE("a placed file has its final name and the SHA-256 of its bytes") {
  TemporaryFolder root;
  FsFileStore store(root.path, "node-a");
  const fs::path incoming = WriteIncoming(store, "abc");
  const auto facts = store.Hash(incoming);
  CHECK(facts.size_bytes == 3);
  CHECK(facts.sha256_hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  PlacedFile placed;
  REQUIRE(store.Place(incoming, "1/1.2/1.2.3/1.2.3.4.dcm", &placed));
  store.Release(placed);
  CHECK(ReadAll(root.path / "1/1.2/1.2.3/1.2.3.4.dcm") == "abc");
  CHECK(fs::is_empty(root.path / ".incoming/node-a"));
}

TEST_CASE("placing onto a taken name changes nothing and reports it") {
  TemporaryFolder root;
  FsFileStore store(root.path, "node-a");
  PlacedFile first;
  REQUIRE(store.Place(WriteIncoming(store, "first"), "1/2/3/4.dcm", &first));
  store.Release(first);
  const fs::path second = WriteIncoming(store, "second");
  PlacedFile unused;
  CHECK_FALSE(store.Place(second, "1/2/3/4.dcm", &unused));
  CHECK(ReadAll(root.path / "1/2/3/4.dcm") == "first");
  CHECK(fs::exists(second));  // still the caller's to remove
  store.RemoveIncoming(second);
  CHECK_FALSE(fs::exists(second));
}

TEST_CASE("discard removes the placed name but never another file's") {
  TemporaryFolder root;
  FsFileStore store(root.path, "node-a");
  PlacedFile placed;
  REQUIRE(store.Place(WriteIncoming(store, "x"), "1/2/3/5.dcm", &placed));
  store.Discard(placed);
  CHECK_FALSE(fs::exists(root.path / "1/2/3/5.dcm"));
  CHECK(fs::is_empty(root.path / ".incoming/node-a"));
}

TEST_CASE("the start-up sweep undoes unconfirmed placements and keeps confirmed ones") {
  TemporaryFolder root;
  {
    // A "crash": placements never released or discarded, plus a partial file.
    FsFileStore store(root.path, "node-a");
    PlacedFile indexed, orphan;
    REQUIRE(store.Place(WriteIncoming(store, "kept"), "1/2/3/kept.dcm", &indexed));
    REQUIRE(store.Place(WriteIncoming(store, "lost"), "1/2/3/orphan.dcm", &orphan));
    WriteIncoming(store, "partial");
  }
  FsFileStore restarted(root.path, "node-a");
  std::set<std::string> asked;
  const int removed = restarted.SweepIncoming(
      [&asked](const std::string& relative_path, const hokan::archive::FileFacts& facts) {
        asked.insert(relative_path);
        CHECK(facts.size_bytes == 4);  // "kept" and "lost"
        return relative_path == "1/2/3/kept.dcm";
      });
  CHECK(removed == 3);
  CHECK(asked == std::set<std::string>{"1/2/3/kept.dcm", "1/2/3/orphan.dcm"});
  CHECK(ReadAll(root.path / "1/2/3/kept.dcm") == "kept");
  CHECK_FALSE(fs::exists(root.path / "1/2/3/orphan.dcm"));
  CHECK(fs::is_empty(root.path / ".incoming/node-a"));
}

TEST_CASE("the sweep leaves other nodes' incoming folders alone") {
  TemporaryFolder root;
  FsFileStore node_a(root.path, "node-a");
  FsFileStore node_b(root.path, "node-b");
  const fs::path in_flight = WriteIncoming(node_b, "busy");
  CHECK(node_a.SweepIncoming([](const std::string&, const hokan::archive::FileFacts&) {
    return false;
  }) == 0);
  CHECK(fs::exists(in_flight));
}
