#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hokan::archive {

// FsFileStore's quarantine (FileStore::Quarantine and the calls after it):
// files set aside under <storage root>/.quarantine/<set id>/<relative path>
// until the deleting transaction has committed (then removed) or was
// cancelled (then put back). Every step can be repeated after a crash with
// the same result. Moves are renames within the storage root's file system,
// made durable (folders fsynced) before a method returns. Thread-safe for
// different set ids. Failures throw hokan::Error(kStorage) naming the path
// and the system error.
class FsQuarantine {
 public:
  explicit FsQuarantine(std::filesystem::path storage_root);

  std::filesystem::path FolderOf(std::int64_t set_id) const;

  // Moves each file (a relative path below the storage root) into the
  // set's folder. A file already there counts as moved. Returns the
  // relative paths found in neither place (lost before we came).
  // REQUIRES: paths are relative, without "..".
  std::vector<std::string> MoveIn(std::int64_t set_id,
                                  const std::vector<std::string>& relative_paths);

  // Puts the given files back where they were, unless a file has that name
  // again (then the quarantined copy stays and goes with Remove()).
  void Restore(std::int64_t set_id, const std::vector<std::string>& relative_paths);

  // Removes the set's folder with everything in it; missing is fine.
  void Remove(std::int64_t set_id);

  // Removes the series and study folders of the paths when they are empty
  // (a folder that is not empty, e.g. a store just arrived, stays).
  void PruneEmptyFolders(const std::vector<std::string>& relative_paths);

 private:
  std::filesystem::path root_;
};

}  // namespace hokan::archive
