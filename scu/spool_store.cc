#include "scu/spool_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/common/posix_file.h"
#include "dicom/dicom_header.h"

namespace hokan::relay {
namespace fs = std::filesystem;
namespace {

using archive::CreateFolders;
using archive::FileDescriptor;
using archive::FileFacts;
using archive::SyncPath;
using archive::ThrowSystemError;

// Hashes the file and fsyncs it.
FileFacts HashAndSync(const fs::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) ThrowSystemError("cannot open", path, errno);
  const FileFacts facts = archive::HashOpenFile(fd.get(), path);
  if (::fsync(fd.get()) != 0) ThrowSystemError("cannot fsync", path, errno);
  return facts;
}

// A UID used as a path component: digits and dots only.
bool IsSafeUid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64 || uid.front() == '.') return false;
  for (char c : uid) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string RandomToken() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}-{}", random(), counter.fetch_add(1));
}

void RemoveQuietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

}  // namespace

VolumeSpace SpaceOf(const fs::path& path) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) ThrowSystemError("cannot measure the volume of", path, errno);
  VolumeSpace space;
  space.free_bytes = static_cast<std::int64_t>(info.f_bavail) * static_cast<std::int64_t>(info.f_frsize);
  space.total_bytes = static_cast<std::int64_t>(info.f_blocks) * static_cast<std::int64_t>(info.f_frsize);
  return space;
}

SpoolStore::SpoolStore(const fs::path& spool_dir, std::int64_t min_free_bytes, SpoolQueue& queue)
    : spool_dir_(fs::absolute(spool_dir)),
      incoming_dir_(spool_dir_ / "incoming"),
      files_dir_(spool_dir_ / "files"),
      min_free_bytes_(min_free_bytes),
      queue_(queue) {
  CreateFolders(incoming_dir_);
  CreateFolders(files_dir_);
}

fs::path SpoolStore::NewIncomingPath() const { return incoming_dir_ / (RandomToken() + ".part"); }

bool SpoolStore::HasSpace() const {
  try {
    return SpaceOf(spool_dir_).free_bytes >= min_free_bytes_;
  } catch (const Error& error) {
    Log(LogLevel::kError, "{}", error.what());
    return false;
  }
}

SpoolResult SpoolStore::SpoolIncoming(const fs::path& incoming, const std::string& source) {
  SpoolResult result;
  if (!HasSpace()) {
    RemoveQuietly(incoming);
    result.status = SpoolStatus::kOutOfSpace;
    result.message = fmt::format("the relay's spool is under its free-space floor of {} bytes",
                                 min_free_bytes_);
    return result;
  }
  const dicom::HeaderReadResult header = dicom::ReadInstanceHeader(incoming);
  const auto& attributes = header.attributes;
  if (!header.ok || !IsSafeUid(attributes.sop_instance_uid) ||
      !IsSafeUid(attributes.study_instance_uid) || attributes.sop_class_uid.empty()) {
    RemoveQuietly(incoming);
    result.status = SpoolStatus::kInvalid;
    result.message = !header.ok ? header.error
                                : "the data set lacks a valid SOP Instance, SOP Class or "
                                  "Study Instance UID";
    return result;
  }
  try {
    const FileFacts facts = HashAndSync(incoming);
    const fs::path folder = files_dir_ / attributes.study_instance_uid;
    const bool new_folder = !fs::exists(folder);
    CreateFolders(folder);
    const fs::path final_path = folder / fmt::format("{}.{}.dcm", attributes.sop_instance_uid,
                                                     facts.sha256_hex.substr(0, 12));
    if (::rename(incoming.c_str(), final_path.c_str()) != 0) {
      ThrowSystemError("cannot rename into the spool", final_path, errno);
    }
    SyncPath(folder);
    if (new_folder) SyncPath(files_dir_);

    SpoolItem item;
    item.sop_instance_uid = attributes.sop_instance_uid;
    item.sop_class_uid = attributes.sop_class_uid;
    item.transfer_syntax_uid = attributes.transfer_syntax_uid;
    item.study_instance_uid = attributes.study_instance_uid;
    item.patient_id = attributes.patient_id;
    item.modality = attributes.modality;
    item.source = source;
    item.file = final_path;
    item.size_bytes = static_cast<std::int64_t>(facts.size_bytes);
    item.sha256_hex = facts.sha256_hex;
    item.received_at = Now();
    result.id = queue_.Add(item);
    Log(LogLevel::kDebug, "spooled {} from {} as item {}", item.sop_instance_uid, source,
        result.id);
    return result;
  } catch (const std::exception& error) {
    RemoveQuietly(incoming);
    Log(LogLevel::kError, "instance from {}: cannot spool: {}", source, error.what());
    result.status = SpoolStatus::kOutOfSpace;
    result.message = "the relay cannot write to its spool; retry later";
    return result;
  }
}

SpoolResult SpoolStore::SpoolCopy(const fs::path& file, const std::string& source) {
  const fs::path incoming = NewIncomingPath();
  std::error_code error;
  fs::copy_file(file, incoming, error);
  if (error) {
    RemoveQuietly(incoming);
    SpoolResult result;
    result.status = SpoolStatus::kOutOfSpace;
    result.message = fmt::format("cannot copy {} into the spool: {}", file.string(),
                                 error.message());
    return result;
  }
  return SpoolIncoming(incoming, source);
}

int SpoolStore::RemoveLeftovers() {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(incoming_dir_, error)) {
    std::error_code remove_error;
    if (fs::remove(entry.path(), remove_error)) ++removed;
  }
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("cannot list {}: {}", incoming_dir_.string(),
                                                 error.message()));
  }
  return removed;
}

}  // namespace hokan::relay
