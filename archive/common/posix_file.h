#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hokan::archive {

// Size and content hash of a file.
struct FileFacts {
  std::uint64_t size_bytes = 0;
  std::string sha256_hex;  // lowercase
};

// POSIX file helpers shared by the archive's file store, the expiry
// quarantine and the relay's spool. Failures throw hokan::Error(kStorage)
// "<what> <path>: <system error text>".

// Owns a file descriptor; closes it when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void ThrowSystemError(const std::string& what, const std::filesystem::path& path,
                                   int error);

// Reads `fd` from its current offset to the end: the bytes read and their
// SHA-256. `path` only names the file in errors.
FileFacts HashOpenFile(int fd, const std::filesystem::path& path);

// fsync of a file or a folder. With `missing_ok`, a path that no longer
// exists is not an error (nothing left to make durable).
void SyncPath(const std::filesystem::path& path, bool missing_ok = false);

// Creates `folder` and its missing parents (existing ones are fine).
// Throws hokan::Error(kStorage) naming the folder and the system error.
void CreateFolders(const std::filesystem::path& folder);

}  // namespace hokan::archive
