#include "archive/storage/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kPartSuffix = ".part";
constexpr std::string_view kIntentSuffix = ".linking";

std::string RandomToken() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return fmt::format("{:016x}", generator());
}

// "1/2.3/4.5/6.7.dcm" <-> "1~2.3~4.5~6.7.dcm": UIDs never contain '~'.
std::string EncodeRelativePath(std::string relative_path) {
  std::replace(relative_path.begin(), relative_path.end(), '/', '~');
  return relative_path;
}
std::string DecodeRelativePath(std::string encoded) {
  std::replace(encoded.begin(), encoded.end(), '~', '/');
  return encoded;
}

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool SameFile(const fs::path& a, const fs::path& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void RemoveIfPresent(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    ThrowSystemError("cannot remove", path, errno);
  }
}

}  // namespace

FsFileStore::FsFileStore(fs::path root, std::string node_name)
    : root_(fs::absolute(std::move(root))),
      incoming_dir_(root_ / ".incoming" / node_name) {
  std::error_code error;
  fs::create_directories(incoming_dir_, error);
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("cannot create storage folder {}: {}",
                                                 incoming_dir_.string(), error.message()));
  }
}

fs::path FsFileStore::NewIncomingPath() {
  return incoming_dir_ / (RandomToken() + std::string(kPartSuffix));
}

FileFacts FsFileStore::Hash(const fs::path& incoming) {
  FileDescriptor fd(::open(incoming.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) ThrowSystemError("cannot open", incoming, errno);
  // Start writing the file back now, so the group flush that follows mostly
  // waits for I/O already under way. Only a hint: errors surface at SyncAll.
  ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);

  return HashOpenFile(fd.get(), incoming);
}

bool FsFileStore::Place(const fs::path& incoming, const std::string& relative_path,
                        PlacedFile* placed) {
  const fs::path final_path = root_ / relative_path;

  std::error_code folder_error;
  fs::create_directories(final_path.parent_path(), folder_error);
  if (folder_error) {
    throw Error(ErrorCode::kStorage, fmt::format("cannot create folder {}: {}",
                                                 final_path.parent_path().string(),
                                                 folder_error.message()));
  }

  // Record the intent first, so a crash after the link can be undone.
  const std::string token = incoming.stem().string();
  const fs::path intent = incoming_dir_ / (token + "." + EncodeRelativePath(relative_path) +
                                           std::string(kIntentSuffix));
  if (::rename(incoming.c_str(), intent.c_str()) != 0) {
    ThrowSystemError("cannot rename", incoming, errno);
  }
  if (::link(intent.c_str(), final_path.c_str()) != 0) {
    const int link_error = errno;
    // Give the file back its incoming name, so the caller can remove it.
    if (::rename(intent.c_str(), incoming.c_str()) != 0) {
      ThrowSystemError("cannot rename back", intent, errno);
    }
    if (link_error == EEXIST) return false;
    ThrowSystemError("cannot link into storage", final_path, link_error);
  }
  placed->intent_path = intent;
  placed->relative_path = relative_path;
  return true;
}

void FsFileStore::Release(const PlacedFile& placed) { RemoveIfPresent(placed.intent_path); }

void FsFileStore::SyncAll() {
  FileDescriptor fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) ThrowSystemError("cannot open", root_, errno);
  // syncfs writes back and flushes the whole file system, data and
  // metadata (links, folders) alike, and reports write-back errors.
  if (::syncfs(fd.get()) != 0) ThrowSystemError("cannot sync the file system of", root_, errno);
}

void FsFileStore::Discard(const PlacedFile& placed) {
  const fs::path final_path = root_ / placed.relative_path;
  if (SameFile(placed.intent_path, final_path)) RemoveIfPresent(final_path);
  RemoveIfPresent(placed.intent_path);
}

void FsFileStore::RemoveIncoming(const fs::path& incoming) { RemoveIfPresent(incoming); }

fs::path FsFileStore::PathOf(const std::string& relative_path) const {
  return root_ / relative_path;
}

namespace {

// A stored file read with read(2); the descriptor closes with the reader.
class FsFileReader : public StoredFileReader {
 public:
  explicit FsFileReader(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw Error(ErrorCode::kStorage,
                  fmt::format("{}: open for reading failed: {}", path_.string(),
                              std::strerror(errno)));
    }
    struct stat facts {};
    if (::fstat(fd_, &facts) != 0) {
      const int error = errno;
      ::close(fd_);
      throw Error(ErrorCode::kStorage,
                  fmt::format("{}: stat failed: {}", path_.string(), std::strerror(error)));
    }
    size_ = static_cast<std::uint64_t>(facts.st_size);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~FsFileReader() override { ::close(fd_); }
  FsFileReader(const FsFileReader&) = delete;
  FsFileReader& operator=(const FsFileReader&) = delete;

  std::uint64_t Size() const override { return size_; }

  std::size_t Read(char* buffer, std::size_t size) override {
    for (;;) {
      const ssize_t got = ::read(fd_, buffer, size);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kStorage,
                  fmt::format("{}: read failed: {}", path_.string(), std::strerror(errno)));
    }
  }

 private:
  fs::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<StoredFileReader> FsFileStore::OpenRead(const std::string& relative_path) const {
  return std::make_unique<FsFileReader>(root_ / relative_path);
}

void FsFileStore::ReadAhead(const std::vector<std::string>& relative_paths) const {
  // posix_fadvise(WILLNEED) starts the reads and returns; opening the files
  // is the only wait, so it runs on a detached thread of its own.
  try {
    std::thread([root = root_, relative_paths] {
      for (const auto& relative_path : relative_paths) {
        const int fd = ::open((root / relative_path).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;  // a hint only: the real read reports the error
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        ::close(fd);
      }
    }).detach();
  } catch (const std::exception&) {
    // No thread: no read-ahead; the reads still work.
  }
}

std::optional<fs::path> FsFileStore::LocalPath(const std::string& relative_path) const {
  return root_ / relative_path;
}

int FsFileStore::SweepIncoming(const KeepPlacedFile& keep) {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(incoming_dir_, error)) {
    const std::string name = entry.path().filename().string();
    if (EndsWith(name, kIntentSuffix)) {
      const auto dot = name.find('.');
      const std::string relative_path = DecodeRelativePath(
          name.substr(dot + 1, name.size() - dot - 1 - kIntentSuffix.size()));
      const fs::path final_path = root_ / relative_path;
      if (SameFile(entry.path(), final_path) && !keep(relative_path, Hash(final_path))) {
        RemoveIfPresent(final_path);
      }
      RemoveIfPresent(entry.path());
      ++removed;
    } else if (EndsWith(name, kPartSuffix)) {
      RemoveIfPresent(entry.path());
      ++removed;
    }
  }
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("cannot list {}: {}",
                                                 incoming_dir_.string(), error.message()));
  }
  return removed;
}

std::uint64_t FsFileStore::AvailableBytes() const {
  std::error_code error;
  const fs::space_info space = fs::space(root_, error);
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("free space of storage root {}: {}",
                                                 root_.string(), error.message()));
  }
  return space.available;
}

}  // namespace hokan::archive
