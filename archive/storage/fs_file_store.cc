#include "archive/storage/fs_file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"

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

bool IsStoredName(const std::string& relative_path) {
  const fs::path path(relative_path);
  bool bad = relative_path.empty() || path.is_absolute();
  for (const auto& part : path) bad = bad || part == "..";
  return !bad;
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


// A stored file open for reading; closes it when destroyed.
class FsStoredFileReader : public StoredFileReader {
 public:
  explicit FsStoredFileReader(fs::path path)
      : path_(std::move(path)), fd_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_.get() < 0) ThrowSystemError("cannot open stored file", path_, errno);
    struct stat facts {};
    if (::fstat(fd_.get(), &facts) != 0) ThrowSystemError("cannot stat", path_, errno);
    size_ = static_cast<std::uint64_t>(facts.st_size);
    // The whole file is read from start to end.
    ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  std::uint64_t Size() const override { return size_; }
  std::size_t Read(char* buffer, std::size_t size) override {
    for (;;) {
      const ssize_t got = ::read(fd_.get(), buffer, size);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) ThrowSystemError("cannot read stored file", path_, errno);
    }
  }

 private:
  fs::path path_;
  FileDescriptor fd_;
  std::uint64_t size_ = 0;
};

}  // namespace

// One background thread that advises the kernel to fetch files
// (POSIX_FADV_WILLNEED starts asynchronous reads). Opening a file on a cold
// cache may itself wait for the disk, which is why the caller does not.
// A newer list replaces the files of an older one not yet advised.
class ReadAheadWorker {
 public:
  ReadAheadWorker() = default;
  ~ReadAheadWorker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Never throws: a thread that cannot start means no hint, not an error.
  void Submit(std::vector<fs::path> files) noexcept {
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_ = std::move(files);
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    } catch (const std::exception& error) {
      Log(LogLevel::kWarn, "storage read-ahead not started: {}", error.what());
    }
    wake_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      std::vector<fs::path> files = std::move(pending_);
      pending_.clear();
      lock.unlock();
      for (const auto& file : files) {
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
          ::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
          ::close(fd);
        }  // a missing file is reported by the read that follows, not here
        std::lock_guard<std::mutex> check(mutex_);
        if (stopping_ || !pending_.empty()) break;
      }
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<fs::path> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

FsFileStore::FsFileStore(fs::path root, std::string node_name)
    : root_(fs::absolute(std::move(root))),
      incoming_dir_(root_ / ".incoming" / node_name),
      quarantine_(root_),
      read_ahead_(std::make_unique<ReadAheadWorker>()) {
  std::error_code error;
  fs::create_directories(incoming_dir_, error);
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("cannot create storage folder {}: {}",
                                                 incoming_dir_.string(), error.message()));
  }
}

FsFileStore::FsFileStore(fs::path root)
    : root_(fs::absolute(std::move(root))),
      quarantine_(root_),
      read_ahead_(std::make_unique<ReadAheadWorker>()) {}

FsFileStore::~FsFileStore() = default;

void FsFileStore::RequireIncoming(const char* what) const {
  if (incoming_dir_.empty()) {
    throw Error(ErrorCode::kInternal,
                fmt::format("{}: the store on {} was opened without a node name, so it takes "
                            "no new files", what, root_.string()));
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
  RequireIncoming("place");
  CheckStoredName(relative_path);
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

std::unique_ptr<StoredFileReader> FsFileStore::OpenRead(const std::string& relative_path) const {
  CheckStoredName(relative_path);
  return std::make_unique<FsStoredFileReader>(root_ / relative_path);
}

void FsFileStore::ReadAhead(const std::vector<std::string>& relative_paths) const {
  std::vector<fs::path> files;
  files.reserve(relative_paths.size());
  for (const auto& relative_path : relative_paths) {
    if (IsStoredName(relative_path)) files.push_back(root_ / relative_path);
  }
  read_ahead_->Submit(std::move(files));
}

std::optional<fs::path> FsFileStore::LocalPath(const std::string& relative_path) const {
  CheckStoredName(relative_path);
  return root_ / relative_path;
}

FileFacts FsFileStore::Checksum(const std::string& relative_path) const {
  CheckStoredName(relative_path);
  const fs::path path = root_ / relative_path;
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) ThrowSystemError("cannot open", path, errno);
  return HashOpenFile(fd.get(), path);
}

void FsFileStore::CopyOut(const std::string& relative_path, const fs::path& target) const {
  CheckStoredName(relative_path);
  const fs::path source = root_ / relative_path;
  std::error_code error;
  fs::copy_file(source, target, error);
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("copying {} to {} failed: {}", source.string(),
                                                 target.string(), error.message()));
  }
}

bool FsFileStore::Remove(const std::string& relative_path) {
  CheckStoredName(relative_path);
  const fs::path path = root_ / relative_path;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    ThrowSystemError("cannot remove", path, errno);
  }
  SyncPath(path.parent_path(), /*missing_ok=*/true);
  return true;
}

std::vector<std::string> FsFileStore::Quarantine(std::int64_t set_id,
                                                 const std::vector<std::string>& relative_paths) {
  return quarantine_.MoveIn(set_id, relative_paths);
}

void FsFileStore::RestoreQuarantined(std::int64_t set_id,
                                     const std::vector<std::string>& relative_paths) {
  quarantine_.Restore(set_id, relative_paths);
}

void FsFileStore::RemoveQuarantine(std::int64_t set_id) { quarantine_.Remove(set_id); }

void FsFileStore::PruneEmptyFolders(const std::vector<std::string>& relative_paths) {
  quarantine_.PruneEmptyFolders(relative_paths);
}

int FsFileStore::SweepIncoming(const KeepPlacedFile& keep) {
  RequireIncoming("sweep");
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

void CheckStoredName(const std::string& relative_path) {
  if (!IsStoredName(relative_path)) {
    throw Error(ErrorCode::kInternal,
                fmt::format("'{}' is not the name of a file below the storage root",
                            relative_path));
  }
}

}  // namespace hokan::archive
