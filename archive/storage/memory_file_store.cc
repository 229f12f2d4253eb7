#include "archive/storage/memory_file_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace fs = std::filesystem;
namespace {

FileFacts FactsOf(const std::string& bytes) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "cannot initialise SHA-256");
  }
  EVP_DigestUpdate(context.get(), bytes.data(), bytes.size());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  EVP_DigestFinal_ex(context.get(), digest.data(), &digest_length);
  FileFacts facts;
  facts.size_bytes = bytes.size();
  for (unsigned int i = 0; i < digest_length; ++i) {
    facts.sha256_hex += fmt::format("{:02x}", digest[i]);
  }
  return facts;
}

[[noreturn]] void Missing(const std::string& what, const std::string& name) {
  throw Error(ErrorCode::kStorage, fmt::format("{} {}: No such file or directory", what, name));
}

// A copy of the bytes, read in pieces like a file.
class MemoryStoredFileReader : public StoredFileReader {
 public:
  explicit MemoryStoredFileReader(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t Size() const override { return bytes_.size(); }
  std::size_t Read(char* buffer, std::size_t size) override {
    const std::size_t count = std::min(size, bytes_.size() - offset_);
    std::memcpy(buffer, bytes_.data() + offset_, count);
    offset_ += count;
    return count;
  }

 private:
  std::string bytes_;
  std::size_t offset_ = 0;
};

}  // namespace

MemoryFileStore::MemoryFileStore(std::uint64_t available_bytes) : capacity_(available_bytes) {}

void MemoryFileStore::WriteIncoming(const fs::path& incoming, std::string bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  incoming_[incoming] = std::move(bytes);
}

void MemoryFileStore::Put(const std::string& relative_path, std::string bytes) {
  CheckStoredName(relative_path);
  std::lock_guard<std::mutex> lock(mutex_);
  stored_[relative_path] = std::move(bytes);
}

std::optional<std::string> MemoryFileStore::Bytes(const std::string& relative_path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = stored_.find(relative_path);
  if (found == stored_.end()) return std::nullopt;
  return found->second;
}

std::vector<std::string> MemoryFileStore::StoredNames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, bytes] : stored_) names.push_back(name);
  return names;
}

std::vector<std::string> MemoryFileStore::QuarantinedNames(std::int64_t set_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  const auto set = quarantine_.find(set_id);
  if (set == quarantine_.end()) return names;
  for (const auto& [name, bytes] : set->second) names.push_back(name);
  return names;
}

fs::path MemoryFileStore::NewIncomingPath() {
  std::lock_guard<std::mutex> lock(mutex_);
  return fs::path("memory-incoming") / fmt::format("{:016x}.part", ++next_token_);
}

FileFacts MemoryFileStore::Hash(const fs::path& incoming) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = incoming_.find(incoming);
  if (found == incoming_.end()) Missing("cannot open", incoming.string());
  return FactsOf(found->second);
}

bool MemoryFileStore::Place(const fs::path& incoming, const std::string& relative_path,
                            PlacedFile* placed) {
  CheckStoredName(relative_path);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = incoming_.find(incoming);
  if (found == incoming_.end()) Missing("cannot rename", incoming.string());
  if (stored_.count(relative_path)) return false;
  stored_[relative_path] = std::move(found->second);
  incoming_.erase(found);
  placed_unreleased_.insert(relative_path);
  placed->intent_path = incoming;
  placed->relative_path = relative_path;
  return true;
}

void MemoryFileStore::Release(const PlacedFile& placed) {
  std::lock_guard<std::mutex> lock(mutex_);
  placed_unreleased_.erase(placed.relative_path);
}

void MemoryFileStore::SyncAll() {}

void MemoryFileStore::Discard(const PlacedFile& placed) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (placed_unreleased_.erase(placed.relative_path)) stored_.erase(placed.relative_path);
}

void MemoryFileStore::RemoveIncoming(const fs::path& incoming) {
  std::lock_guard<std::mutex> lock(mutex_);
  incoming_.erase(incoming);
}

int MemoryFileStore::SweepIncoming(const KeepPlacedFile& keep) {
  std::map<std::string, FileFacts> unreleased;
  int settled = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    settled = static_cast<int>(incoming_.size());
    incoming_.clear();
    for (const auto& name : placed_unreleased_) {
      const auto found = stored_.find(name);
      if (found != stored_.end()) unreleased[name] = FactsOf(found->second);
    }
    settled += static_cast<int>(placed_unreleased_.size());
    placed_unreleased_.clear();
  }
  // `keep` asks the index: never called with the lock held.
  for (const auto& [name, facts] : unreleased) {
    if (!keep(name, facts)) {
      std::lock_guard<std::mutex> lock(mutex_);
      stored_.erase(name);
    }
  }
  return settled;
}

const std::string& MemoryFileStore::StoredBytes(const std::string& relative_path) const {
  CheckStoredName(relative_path);
  const auto found = stored_.find(relative_path);
  if (found == stored_.end()) Missing("cannot open stored file", relative_path);
  return found->second;
}

std::unique_ptr<StoredFileReader> MemoryFileStore::OpenRead(
    const std::string& relative_path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::make_unique<MemoryStoredFileReader>(StoredBytes(relative_path));
}

void MemoryFileStore::ReadAhead(const std::vector<std::string>&) const {}

std::optional<fs::path> MemoryFileStore::LocalPath(const std::string&) const {
  return std::nullopt;
}

FileFacts MemoryFileStore::Checksum(const std::string& relative_path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return FactsOf(StoredBytes(relative_path));
}

void MemoryFileStore::CopyOut(const std::string& relative_path, const fs::path& target) const {
  std::string bytes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bytes = StoredBytes(relative_path);
  }
  std::error_code error;
  if (fs::exists(target, error)) {
    throw Error(ErrorCode::kStorage,
                fmt::format("copying {} to {} failed: File exists", relative_path,
                            target.string()));
  }
  std::ofstream out(target, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw Error(ErrorCode::kStorage,
                fmt::format("copying {} to {} failed", relative_path, target.string()));
  }
}

bool MemoryFileStore::Remove(const std::string& relative_path) {
  CheckStoredName(relative_path);
  std::lock_guard<std::mutex> lock(mutex_);
  return stored_.erase(relative_path) > 0;
}

std::vector<std::string> MemoryFileStore::Quarantine(
    std::int64_t set_id, const std::vector<std::string>& relative_paths) {
  for (const auto& relative_path : relative_paths) CheckStoredName(relative_path);
  std::lock_guard<std::mutex> lock(mutex_);
  auto& set = quarantine_[set_id];
  std::vector<std::string> lost;
  for (const auto& relative_path : relative_paths) {
    const auto found = stored_.find(relative_path);
    if (found == stored_.end()) {
      if (!set.count(relative_path)) lost.push_back(relative_path);
      continue;
    }
    set[relative_path] = std::move(found->second);
    stored_.erase(found);
  }
  return lost;
}

void MemoryFileStore::RestoreQuarantined(std::int64_t set_id,
                                         const std::vector<std::string>& relative_paths) {
  for (const auto& relative_path : relative_paths) CheckStoredName(relative_path);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto set = quarantine_.find(set_id);
  if (set == quarantine_.end()) return;
  for (const auto& relative_path : relative_paths) {
    const auto found = set->second.find(relative_path);
    if (found == set->second.end()) continue;  // put back already
    stored_.emplace(relative_path, found->second);  // a file that has the name again wins
    set->second.erase(found);
  }
}

void MemoryFileStore::RemoveQuarantine(std::int64_t set_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  quarantine_.erase(set_id);
}

void MemoryFileStore::PruneEmptyFolders(const std::vector<std::string>& relative_paths) {
  for (const auto& relative_path : relative_paths) CheckStoredName(relative_path);
}

std::uint64_t MemoryFileStore::AvailableBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t held = 0;
  for (const auto& [name, bytes] : stored_) held += bytes.size();
  return held >= capacity_ ? 0 : capacity_ - held;
}

}  // namespace hokan::archive
