#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/posix_file.h"

namespace hokan::archive {

// Size and content hash of a file.
// A file placed at its final name but not yet confirmed durable and indexed.
// Until Release() or Discard(), a crash leaves an intent record that
// SweepIncoming() uses to check or undo the placement.
struct PlacedFile {
  std::filesystem::path intent_path;  // below the node's incoming folder
  std::string relative_path;          // below the storage root
};

// A stored file opened for streaming read. Not thread-safe (one reader,
// one thread).
class StoredFileReader {
 public:
  virtual ~StoredFileReader() = default;
  virtual std::uint64_t Size() const = 0;
  // Reads up to `size` bytes into `buffer`; returns 0 at the end. Throws hokan::Error(kStorage).
  virtual std::size_t Read(char* buffer, std::size_t size) = 0;
};

// Where instances live on disk. Files are written under
// <root>/.incoming/<node>/ and then given their final name with a hard
// link. Nothing is durable until SyncAll() returns: callers batch many
// files into one SyncAll(), so concurrent stores share one flush.
// Thread-safe. Every failure throws hokan::Error(kStorage) naming the path
// and the system error.
class FileStore {
 public:
  virtual ~FileStore() = default;

  // A fresh, unused path in this node's incoming folder for a new file.
  // Only names it: never touches the disk, never throws.
  virtual std::filesystem::path NewIncomingPath() = 0;

  // Returns the file's size and SHA-256.
  virtual FileFacts Hash(const std::filesystem::path& incoming) = 0;

  // Gives the incoming file its final name `relative_path` (parent folders
  // created). Returns false, changing nothing, when a file already has that
  // name.
  virtual bool Place(const std::filesystem::path& incoming,
                     const std::string& relative_path, PlacedFile* placed) = 0;

  // The index now refers to the placed file: drop the intent record.
  virtual void Release(const PlacedFile& placed) = 0;

  // Makes the bytes and names of every file written or placed before the
  // call durable (one flush of the storage file system).
  virtual void SyncAll() = 0;

  // Undo Place(): removes the final name (only if it is still this file)
  // and the intent record.
  virtual void Discard(const PlacedFile& placed) = 0;

  // Removes an incoming file that will not be placed. Missing is fine.
  virtual void RemoveIncoming(const std::filesystem::path& incoming) = 0;

  // Absolute path of a stored file.
  virtual std::filesystem::path PathOf(const std::string& relative_path) const = 0;

  // Opens a stored file for streaming read. Throws hokan::Error(kStorage)
  // naming the file when it cannot be opened.
  virtual std::unique_ptr<StoredFileReader> OpenRead(const std::string& relative_path) const = 0;
  // Hint: these files will be read soon, in this order; returns at once, never throws (POSIX: posix_fadvise WILLNEED, on a background thread if needed).
  virtual void ReadAhead(const std::vector<std::string>& relative_paths) const = 0;
  // The file's name on a local file system when the store has one, else std::nullopt.
  virtual std::optional<std::filesystem::path> LocalPath(const std::string& relative_path) const = 0;

  // Bytes an unprivileged writer may still use on the storage root's file
  // system. Throws hokan::Error(kStorage) when it cannot be read.
  virtual std::uint64_t AvailableBytes() const = 0;

  // Start-up sweep of this node's incoming folder after a crash: removes
  // partial files, and for every placement not yet released asks `keep`
  // with the placed file's size and hash; the final name is removed unless
  // `keep` says yes. Returns the number of leftovers settled.
  using KeepPlacedFile =
      std::function<bool(const std::string& relative_path, const FileFacts& facts)>;
  virtual int SweepIncoming(const KeepPlacedFile& keep) = 0;
};

// FileStore on a POSIX file system. `root` must be one file system (hard
// links); `node_name` separates the incoming folders of nodes sharing it.
class FsFileStore : public FileStore {
 public:
  FsFileStore(std::filesystem::path root, std::string node_name);

  std::filesystem::path NewIncomingPath() override;
  FileFacts Hash(const std::filesystem::path& incoming) override;
  bool Place(const std::filesystem::path& incoming, const std::string& relative_path,
             PlacedFile* placed) override;
  void Release(const PlacedFile& placed) override;
  void SyncAll() override;
  void Discard(const PlacedFile& placed) override;
  void RemoveIncoming(const std::filesystem::path& incoming) override;
  std::filesystem::path PathOf(const std::string& relative_path) const override;
  std::unique_ptr<StoredFileReader> OpenRead(const std::string& relative_path) const override;
  void ReadAhead(const std::vector<std::string>& relative_paths) const override;
  std::optional<std::filesystem::path> LocalPath(const std::string& relative_path) const override;
  std::uint64_t AvailableBytes() const override;
  int SweepIncoming(const KeepPlacedFile& keep) override;

 private:
  std::filesystem::path root_;
  std::filesystem::path incoming_dir_;
};

}  // namespace hokan::archive
