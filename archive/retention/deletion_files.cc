#include "archive/retention/deletion_files.h"

#include "archive/common/log.h"

namespace hokan::archive {

std::vector<std::string> SetAsideDeletionFiles(FileStore& files, std::int64_t deletion_id,
                                               const std::vector<std::string>& paths) {
  const auto lost = files.Quarantine(deletion_id, paths);
  for (const auto& path : lost) {
    Log(LogLevel::kWarn, "expiry deletion {}: file {} was already missing", deletion_id, path);
  }
  return lost;
}

void DropDeletionFiles(FileStore& files, std::int64_t deletion_id,
                       const std::vector<std::string>& paths) {
  files.RemoveQuarantine(deletion_id);
  files.PruneEmptyFolders(paths);
}

void PutBackDeletionFiles(FileStore& files, std::int64_t deletion_id,
                          const std::vector<std::string>& to_restore) {
  files.RestoreQuarantined(deletion_id, to_restore);
  files.RemoveQuarantine(deletion_id);
}

}  // namespace hokan::archive
