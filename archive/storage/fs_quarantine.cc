#include "archive/storage/fs_quarantine.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/posix_file.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {
namespace fs = std::filesystem;
namespace {

constexpr const char* kQuarantineFolder = ".quarantine";

bool Exists(const fs::path& path) {
  std::error_code error;
  return fs::symlink_status(path, error).type() != fs::file_type::not_found;
}

// A folder removed meanwhile has nothing left to make durable.
void SyncFolder(const fs::path& folder) { SyncPath(folder, /*missing_ok=*/true); }

}  // namespace

FsQuarantine::FsQuarantine(fs::path storage_root) : root_(storage_root.lexically_normal()) {
  if (root_.filename().empty() && root_.has_parent_path()) root_ = root_.parent_path();
}

fs::path FsQuarantine::FolderOf(std::int64_t set_id) const {
  return root_ / kQuarantineFolder / std::to_string(set_id);
}

std::vector<std::string> FsQuarantine::MoveIn(std::int64_t set_id,
                                            const std::vector<std::string>& relative_paths) {
  const fs::path folder = FolderOf(set_id);
  std::set<fs::path> touched;
  std::vector<std::string> lost;
  for (const auto& relative_path : relative_paths) {
    CheckStoredName(relative_path);
    const fs::path source = root_ / relative_path;
    const fs::path target = folder / relative_path;
    if (!Exists(source)) {
      if (!Exists(target)) lost.push_back(relative_path);
      continue;
    }
    CreateFolders(target.parent_path());
    if (::rename(source.c_str(), target.c_str()) != 0) {
      ThrowSystemError("cannot move into quarantine", source, errno);
    }
    touched.insert(source.parent_path());
    touched.insert(target.parent_path());
  }
  // The new names, the removed names and the quarantine folders themselves.
  touched.insert(folder.parent_path());
  touched.insert(root_);
  for (const auto& path : touched) SyncFolder(path);
  return lost;
}

void FsQuarantine::Restore(std::int64_t set_id,
                         const std::vector<std::string>& relative_paths) {
  const fs::path folder = FolderOf(set_id);
  std::set<fs::path> touched;
  for (const auto& relative_path : relative_paths) {
    CheckStoredName(relative_path);
    const fs::path source = folder / relative_path;
    const fs::path target = root_ / relative_path;
    if (!Exists(source)) continue;  // put back already
    CreateFolders(target.parent_path());
    // link + unlink, never rename: a file that has the name again wins.
    if (::link(source.c_str(), target.c_str()) != 0 && errno != EEXIST) {
      ThrowSystemError("cannot restore from quarantine", target, errno);
    }
    touched.insert(target.parent_path());
  }
  for (const auto& path : touched) SyncFolder(path);
  for (const auto& relative_path : relative_paths) {
    const fs::path source = folder / relative_path;
    if (::unlink(source.c_str()) != 0 && errno != ENOENT) {
      ThrowSystemError("cannot remove", source, errno);
    }
  }
}

void FsQuarantine::Remove(std::int64_t set_id) {
  const fs::path folder = FolderOf(set_id);
  std::error_code error;
  fs::remove_all(folder, error);
  if (error) {
    throw Error(ErrorCode::kStorage,
                fmt::format("cannot remove {}: {}", folder.string(), error.message()));
  }
  SyncFolder(folder.parent_path());
}

void FsQuarantine::PruneEmptyFolders(const std::vector<std::string>& relative_paths) {
  // <facility>/<study>/<series>/<file>: the series folders, then the study's.
  std::set<fs::path> series_folders;
  std::set<fs::path> study_folders;
  for (const auto& relative_path : relative_paths) {
    CheckStoredName(relative_path);
    const fs::path series = fs::path(relative_path).parent_path();
    if (series.empty()) continue;
    series_folders.insert(root_ / series);
    if (series.has_parent_path()) study_folders.insert(root_ / series.parent_path());
  }
  std::set<fs::path> touched;
  for (const auto* folders : {&series_folders, &study_folders}) {
    for (const auto& folder : *folders) {
      if (::rmdir(folder.c_str()) == 0) {
        touched.insert(folder.parent_path());
      } else if (errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
        ThrowSystemError("cannot remove folder", folder, errno);
      }
    }
  }
  for (const auto& path : touched) SyncFolder(path);
}

}  // namespace hokan::archive
