#pragma once

// The file store: the only door to stored bytes. Services (ingest, expiry,
// export, commitment, retrieval) name stored files by their relative path
// ("<facility>/<study>/<series>/<sop>.dcm") and never build a path on a
// storage root themselves.
//
// What every implementation must guarantee:
// - Durability on place: a file given its final name by Place() is durable,
//   bytes and name, once SyncAll() returns. Callers batch many files into
//   one SyncAll(). Quarantine, restore and removal are durable when they
//   return.
// - Atomic visibility: a reader (OpenRead, Checksum, CopyOut) never sees a
//   half-written file under its final name: a file is written in full under
//   an incoming name first, and only then given its final name in one step.
// - Crash safety: Place() leaves an intent record until Release() or
//   Discard(); after a crash, SweepIncoming() removes partial incoming files
//   and settles every placement still recorded (kept only when the caller's
//   index says the file is the one it refers to). Quarantine steps can be
//   repeated after a crash with the same result.
// - Thread safety: every member may be called from several threads.
// - Errors: every failure throws hokan::Error(kStorage) naming the file and
//   the cause; expected outcomes (a taken name, a missing file to remove) are
//   return values. A relative path that is empty, absolute or holds ".." is
//   a caller's bug: hokan::Error(kInternal) (ReadAhead skips it).
//
// Implementations: FsFileStore (a POSIX file system, below) and
// MemoryFileStore (memory_file_store.h, for unit tests). A slower second
// tier and an S3-compatible object store are meant to implement this
// interface next: nothing here assumes hard links, folders or local paths
// (LocalPath() may answer std::nullopt; PruneEmptyFolders() may do nothing).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/posix_file.h"

namespace hokan::archive {

// A file placed at its final name but not yet confirmed durable and indexed.
// Until Release() or Discard(), a crash leaves an intent record that
// SweepIncoming() uses to check or undo the placement.
struct PlacedFile {
  std::filesystem::path intent_path;  // the store's own record of the placement
  std::string relative_path;          // the file's final name in the store
};

// A stored file opened for a streaming read (archive/storage/file_store.h).
class StoredFileReader {
 public:
  virtual ~StoredFileReader() = default;
  virtual std::uint64_t Size() const = 0;
  // Reads up to `size` bytes into `buffer`; returns 0 at the end. Throws hokan::Error(kStorage).
  virtual std::size_t Read(char* buffer, std::size_t size) = 0;
};

class FileStore {
 public:
  virtual ~FileStore() = default;

  // --- New files: incoming, then placed under their final name ----------

  // A fresh, unused local path where the caller writes a new file (DCMTK
  // receives into it). Only names it: never touches the disk, never throws.
  virtual std::filesystem::path NewIncomingPath() = 0;

  // Returns the incoming file's size and SHA-256.
  virtual FileFacts Hash(const std::filesystem::path& incoming) = 0;

  // Gives the incoming file its final name `relative_path`. Returns false,
  // changing nothing, when a file already has that name.
  virtual bool Place(const std::filesystem::path& incoming,
                     const std::string& relative_path, PlacedFile* placed) = 0;

  // The index now refers to the placed file: drop the intent record.
  virtual void Release(const PlacedFile& placed) = 0;

  // Makes the bytes and names of every file written or placed before the
  // call durable (one flush for all of them).
  virtual void SyncAll() = 0;

  // Undo Place(): removes the final name (only if it is still this file)
  // and the intent record.
  virtual void Discard(const PlacedFile& placed) = 0;

  // Removes an incoming file that will not be placed. Missing is fine.
  virtual void RemoveIncoming(const std::filesystem::path& incoming) = 0;

  // Start-up sweep of this node's incoming files after a crash: removes
  // partial files, and for every placement not yet released asks `keep`
  // with the placed file's size and hash; the final name is removed unless
  // `keep` says yes. Returns the number of leftovers settled.
  using KeepPlacedFile =
      std::function<bool(const std::string& relative_path, const FileFacts& facts)>;
  virtual int SweepIncoming(const KeepPlacedFile& keep) = 0;

  // --- Stored files ------------------------------------------------------

  // Opens a stored file for reading. Throws hokan::Error(kStorage) naming the file when missing or unreadable.
  virtual std::unique_ptr<StoredFileReader> OpenRead(const std::string& relative_path) const = 0;

  // Hint: these files will be read soon, in this order; start fetching them (posix_fadvise WILLNEED / readahead on POSIX). Returns at once, never throws.
  virtual void ReadAhead(const std::vector<std::string>& relative_paths) const = 0;

  // The file's name on a local file system when the store has one (DCMTK can stream a file by name), else std::nullopt.
  virtual std::optional<std::filesystem::path> LocalPath(const std::string& relative_path) const = 0;

  // Size and SHA-256 of a stored file, read now.
  virtual FileFacts Checksum(const std::string& relative_path) const = 0;

  // Copies a stored file, byte for byte, to the new local file `target`
  // (whose folder exists). Not synced: the caller flushes its target.
  virtual void CopyOut(const std::string& relative_path,
                       const std::filesystem::path& target) const = 0;

  // Removes a stored file, durably. Returns false when there was none.
  virtual bool Remove(const std::string& relative_path) = 0;

  // --- Quarantine: files set aside while a deletion commits ---------------
  // A quarantine set (a deletion id) holds files taken from their names
  // until it is removed (the deletion committed) or they are restored (it
  // was cancelled). Each call can be repeated after a crash with the same
  // result and is durable when it returns. Thread-safe for different sets.

  // Moves each file into set `set_id`. A file already there counts as
  // moved. Returns the relative paths found in neither place.
  virtual std::vector<std::string> Quarantine(std::int64_t set_id,
                                              const std::vector<std::string>& relative_paths) = 0;

  // Puts the given files of set `set_id` back under their names, unless a
  // file has that name again (then the quarantined copy stays and goes
  // with RemoveQuarantine()).
  virtual void RestoreQuarantined(std::int64_t set_id,
                                  const std::vector<std::string>& relative_paths) = 0;

  // Removes set `set_id` with every file still in it; missing is fine.
  virtual void RemoveQuarantine(std::int64_t set_id) = 0;

  // After files were removed or quarantined: removes their series and study
  // folders when empty (a folder that is not empty stays). Nothing to do in
  // a store without folders.
  virtual void PruneEmptyFolders(const std::vector<std::string>& relative_paths) = 0;

  // --- Capacity ----------------------------------------------------------

  // Bytes an unprivileged writer may still store. Throws
  // hokan::Error(kStorage) when it cannot be read.
  virtual std::uint64_t AvailableBytes() const = 0;
};

// Throws hokan::Error(kInternal) unless `relative_path` names a file below
// a store's root (not empty, not absolute, no ".."). For implementations.
void CheckStoredName(const std::string& relative_path);

}  // namespace hokan::archive
