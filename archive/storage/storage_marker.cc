#include "archive/storage/storage_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/posix_file.h"

namespace hokan::archive {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kIdKey = "installation_id = ";

std::string MarkerText(const std::string& installation_id) {
  return fmt::format(
      "# hokan storage root: the stored files here belong to the hokan database of this\n"
      "# installation. hokan-archive wrote this file; tools that delete stored files check\n"
      "# it. Do not copy it to another root; to move a root, see `hokan storage adopt`.\n"
      "{}{}\n",
      kIdKey, installation_id);
}

void WriteAll(int fd, const std::string& text, const fs::path& path) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(fd, text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) ThrowSystemError("cannot write the storage marker", path, errno);
    written += static_cast<std::size_t>(count);
  }
}

// A durable temporary file holding the marker text, next to the marker.
fs::path WriteTemporary(const fs::path& root, const std::string& installation_id) {
  const fs::path temporary = root / fmt::format("{}.{}.{:08x}.tmp", kStorageMarkerName,
                                                ::getpid(), std::random_device{}());
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) ThrowSystemError("cannot create the storage marker", temporary, errno);
  try {
    WriteAll(fd.get(), MarkerText(installation_id), temporary);
    if (::fsync(fd.get()) != 0) ThrowSystemError("cannot sync the storage marker", temporary, errno);
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  return temporary;
}

}  // namespace

std::optional<std::string> ReadStorageMarker(const fs::path& root) {
  const fs::path marker = root / kStorageMarkerName;
  std::ifstream input(marker);
  if (!input) {
    std::error_code error;
    if (!fs::exists(marker, error) && !error) return std::nullopt;
    throw Error(ErrorCode::kStorage,
                fmt::format("cannot read the storage marker {}: {}", marker.string(),
                            error ? error.message() : "open failed"));
  }
  std::string line;
  while (std::getline(input, line)) {
    if (line.compare(0, kIdKey.size(), kIdKey) != 0) continue;
    const std::string id = line.substr(kIdKey.size());
    if (id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos) {
      return id;
    }
    break;
  }
  throw Error(ErrorCode::kStorage,
              fmt::format("the storage marker {} names no installation id (a line "
                          "'installation_id = <32 hex digits>'): it was damaged or not written "
                          "by hokan",
                          marker.string()));
}

bool WriteStorageMarker(const fs::path& root, const std::string& installation_id,
                        bool replace) {
  const fs::path marker = root / kStorageMarkerName;
  const fs::path temporary = WriteTemporary(root, installation_id);
  bool written = true;
  if (replace) {
    if (::rename(temporary.c_str(), marker.c_str()) != 0) {
      const int error = errno;
      ::unlink(temporary.c_str());
      ThrowSystemError("cannot put the storage marker in place", marker, error);
    }
  } else {
    // link() never replaces: of two processes marking at once, one wins.
    if (::link(temporary.c_str(), marker.c_str()) != 0) {
      const int error = errno;
      ::unlink(temporary.c_str());
      if (error != EEXIST) ThrowSystemError("cannot put the storage marker in place", marker, error);
      written = false;
    } else {
      ::unlink(temporary.c_str());
    }
  }
  SyncPath(root);
  return written;
}

}  // namespace hokan::archive
