#include "archive/common/posix_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

void ThrowSystemError(const std::string& what, const std::filesystem::path& path, int error) {
  throw Error(ErrorCode::kStorage,
              fmt::format("{} {}: {}", what, path.string(), std::strerror(error)));
}

FileFacts HashOpenFile(int fd, const std::filesystem::path& path) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "cannot initialise SHA-256");
  }
  FileFacts facts;
  // One buffer per thread: a fresh allocation per file costs page faults
  // and a memset on every store.
  thread_local std::array<unsigned char, 256 * 1024> buffer;
  for (;;) {
    const ssize_t count = ::read(fd, buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("cannot read", path, errno);
    }
    if (count == 0) break;
    EVP_DigestUpdate(context.get(), buffer.data(), static_cast<std::size_t>(count));
    facts.size_bytes += static_cast<std::uint64_t>(count);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  EVP_DigestFinal_ex(context.get(), digest.data(), &digest_length);
  facts.sha256_hex.reserve(digest_length * 2);
  for (unsigned int i = 0; i < digest_length; ++i) {
    facts.sha256_hex += fmt::format("{:02x}", digest[i]);
  }
  return facts;
}

void SyncPath(const std::filesystem::path& path, bool missing_ok) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (missing_ok && errno == ENOENT) return;
    ThrowSystemError("cannot open", path, errno);
  }
  if (::fsync(fd.get()) != 0) ThrowSystemError("cannot fsync", path, errno);
}

void CreateFolders(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) {
    throw Error(ErrorCode::kStorage,
                fmt::format("cannot create folder {}: {}", folder.string(), error.message()));
  }
}

}  // namespace hokan::archive
