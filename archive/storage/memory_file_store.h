#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "archive/storage/file_store.h"

namespace hokan::archive {

// FileStore kept in memory, for unit tests: services run on it without a
// disk. Everything is durable at once (SyncAll() does nothing), and a
// "crash" is simply a new store, so SweepIncoming() only settles what was
// placed and neither released nor discarded. Incoming files live in memory
// too: write them with WriteIncoming() (NewIncomingPath() names no real
// file). LocalPath() is std::nullopt; CopyOut() writes a real local file.
// Thread-safe. Failures throw hokan::Error(kStorage) like FsFileStore's.
class MemoryFileStore : public FileStore {
 public:
  // `available_bytes`: what AvailableBytes() answers, less the bytes held.
  explicit MemoryFileStore(std::uint64_t available_bytes = 1ull << 40);

  // Test helpers: the bytes of an incoming file; a stored file put (or
  // replaced) directly; the bytes of a stored file (nullopt when none); the
  // stored names, sorted; the files of a quarantine set.
  void WriteIncoming(const std::filesystem::path& incoming, std::string bytes);
  void Put(const std::string& relative_path, std::string bytes);
  std::optional<std::string> Bytes(const std::string& relative_path) const;
  std::vector<std::string> StoredNames() const;
  std::vector<std::string> QuarantinedNames(std::int64_t set_id) const;

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
  // REQUIRES: mutex_ held.
  const std::string& StoredBytes(const std::string& relative_path) const;

  mutable std::mutex mutex_;
  std::uint64_t capacity_;
  std::uint64_t next_token_ = 0;
  std::map<std::filesystem::path, std::string> incoming_;
  std::map<std::string, std::string> stored_;
  std::set<std::string> placed_unreleased_;
  std::map<std::int64_t, std::map<std::string, std::string>> quarantine_;
};

}  // namespace hokan::archive
