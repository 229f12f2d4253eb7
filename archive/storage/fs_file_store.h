#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/storage/file_store.h"
#include "archive/storage/fs_quarantine.h"

namespace hokan::archive {

class ReadAheadWorker;

// FileStore on a POSIX file system (everything file_store.h requires).
// Files are written under <root>/.incoming/<node>/ and given their final
// name <root>/<relative path> with a hard link after an intent record
// (<token>.<encoded name>.linking) was written, so `root` must be one file
// system. SyncAll() is one syncfs(). Quarantine sets live in
// <root>/.quarantine/<set id>/ (fs_quarantine.h). ReadAhead() hands the
// list to one background thread of the store, which opens each file,
// advises POSIX_FADV_WILLNEED and closes it: the call itself only copies
// the list, so it returns at once even for a study of thousands of files on
// a cold cache; a newer list replaces one not yet started.
class FsFileStore : public FileStore {
 public:
  // `node_name` separates the incoming folders of nodes sharing the root;
  // that folder is created here. Throws hokan::Error(kStorage).
  FsFileStore(std::filesystem::path root, std::string node_name);
  // A store for tools that only read, copy, remove or quarantine stored
  // files (the hokan command): no incoming folder, so NewIncomingPath()
  // names nothing usable and Place() and SweepIncoming() throw
  // hokan::Error(kInternal).
  explicit FsFileStore(std::filesystem::path root);
  ~FsFileStore() override;

  // The storage root, absolute (for log lines).
  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path NewIncomingPath() override;
  FileFacts Hash(const std::filesystem::path& incoming) override;
  bool Place(const std::filesystem::path& incoming, const std::string& relative_path,
             PlacedFile* placed) override;
  void Release(const PlacedFile& placed) override;
  void SyncAll() override;
  void Discard(const PlacedFile& placed) override;
  void RemoveIncoming(const std::filesystem::path& incoming) override;
  int SweepIncoming(const KeepPlacedFile& keep) override;

  std::unique_ptr<StoredFileReader> OpenRead(const std::string& relative_path) const override;
  void ReadAhead(const std::vector<std::string>& relative_paths) const override;
  std::optional<std::filesystem::path> LocalPath(const std::string& relative_path) const override;
  FileFacts Checksum(const std::string& relative_path) const override;
  void CopyOut(const std::string& relative_path,
               const std::filesystem::path& target) const override;
  bool Remove(const std::string& relative_path) override;

  std::vector<std::string> Quarantine(std::int64_t set_id,
                                      const std::vector<std::string>& relative_paths) override;
  void RestoreQuarantined(std::int64_t set_id,
                          const std::vector<std::string>& relative_paths) override;
  void RemoveQuarantine(std::int64_t set_id) override;
  void PruneEmptyFolders(const std::vector<std::string>& relative_paths) override;

  std::uint64_t AvailableBytes() const override;

 private:
  void RequireIncoming(const char* what) const;

  std::filesystem::path root_;
  std::filesystem::path incoming_dir_;  // empty: no incoming folder
  FsQuarantine quarantine_;
  std::unique_ptr<ReadAheadWorker> read_ahead_;  // started on first use
};

}  // namespace hokan::archive
