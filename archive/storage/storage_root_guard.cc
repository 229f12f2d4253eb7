#include "archive/storage/storage_root_guard.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/common/posix_file.h"
#include "archive/index/audit_log.h"
#include "archive/index/installation_index.h"
#include "archive/storage/storage_marker.h"

namespace hokan::archive {
namespace fs = std::filesystem;
namespace {

std::string Absolute(const fs::path& root) {
  std::error_code error;
  const fs::path absolute = fs::absolute(root, error);
  return (error ? root : absolute).lexically_normal().string();
}

// Why `root` is not this installation's, and how to fix it; "" when it is.
std::string Mismatch(const fs::path& root, const std::string& installation_id,
                     const std::optional<std::string>& found) {
  if (found == installation_id) return "";
  const std::string path = Absolute(root);
  if (!found) {
    return fmt::format(
        "storage root {} has no marker file {}, so it is not known to hold the files of this "
        "database (installation {}). Check the path: a wrong storage root, or a volume that is "
        "not mounted. If this folder really holds this database's files now (it was moved), "
        "mark it with `hokan storage adopt --storage-root {}`",
        path, kStorageMarkerName, installation_id, path);
  }
  return fmt::format(
      "storage root {} belongs to another database: its marker {} names installation {}, this "
      "database is installation {}. Check the storage root and the database URL. If this "
      "folder really moved to this database, mark it with `hokan storage adopt --storage-root "
      "{}`",
      path, kStorageMarkerName, *found, installation_id, path);
}

}  // namespace

StorageRootClaim ClaimStorageRoot(Database& database, const fs::path& root, bool adopt) {
  const Installation installation = EnsureInstallation(database);
  StorageRootClaim claim;
  claim.installation_id = installation.id;
  std::optional<std::string> found = ReadStorageMarker(root);
  if (found == installation.id) {
    if (!installation.storage_marked_at) RecordStorageMarked(database, Absolute(root), false);
    return claim;
  }
  const bool trusted = !found && !installation.storage_marked_at;
  if (!trusted && !adopt) {
    std::string message = "refusing to start: " + Mismatch(root, installation.id, found);
    if (!found) {
      message += fmt::format(" (this database marked {} at {})",
                             installation.storage_marked_root, *installation.storage_marked_at);
    }
    throw Error(ErrorCode::kConfiguration,
                message + ", or start hokan-archive once with --adopt-storage-root");
  }
  CreateFolders(root);
  claim.marked_now = WriteStorageMarker(root, installation.id, adopt);
  if (!claim.marked_now) {
    // Another node marked it first: it must have been for this database.
    found = ReadStorageMarker(root);
    if (found != installation.id) {
      throw Error(ErrorCode::kConfiguration,
                  "refusing to start: " + Mismatch(root, installation.id, found));
    }
  }
  if (adopt && !trusted) claim.adopted_from = found.value_or("");
  RecordStorageMarked(database, Absolute(root), adopt && !trusted);
  return claim;
}

void RequireStorageRoot(const fs::path& root, const std::string& installation_id) {
  const std::string mismatch = Mismatch(root, installation_id, ReadStorageMarker(root));
  if (!mismatch.empty()) {
    throw Error(ErrorCode::kConfiguration, mismatch + "; nothing was deleted");
  }
}

std::string RequireOwnStorageRoot(Database& database, const fs::path& root) {
  const std::optional<Installation> installation = FindInstallation(database);
  if (!installation || !installation->storage_marked_at) {
    throw Error(ErrorCode::kConfiguration,
                fmt::format("no storage root has been marked for this database yet, so {} "
                            "cannot be checked; nothing was deleted. Start hokan-archive once "
                            "(it marks its own storage root at start-up)",
                            Absolute(root)));
  }
  RequireStorageRoot(root, installation->id);
  return installation->id;
}

std::string AdoptStorageRoot(Database& database, const fs::path& root, const std::string& actor) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("storage root {} is not a folder", Absolute(root)));
  }
  const Installation installation = EnsureInstallation(database);
  const std::string previous = ReadStorageMarker(root).value_or("");
  WriteStorageMarker(root, installation.id, true);
  RecordStorageMarked(database, Absolute(root), true);
  AuditEntry entry;
  entry.actor = actor;
  entry.action = "storage.adopt";
  entry.subject = Absolute(root);
  entry.detail = fmt::format("marked for installation {}; it named {}", installation.id,
                             previous.empty() ? "none" : "installation " + previous);
  RecordAudit(database, entry);
  return previous;
}

}  // namespace hokan::archive
