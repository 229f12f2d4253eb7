#pragma once

#include <optional>
#include <string>

namespace hokan::archive {

class Database;

// The installation: the one row naming this database (schema 016).
struct Installation {
  std::string id;          // 32 lowercase hex digits, random, never changes
  std::string created_at;  // UTC, "2026-11-22T19:05:17Z"
  // When a storage root was first marked with the id, and which (as
  // given); nullopt while none was.
  std::optional<std::string> storage_marked_at;
  std::string storage_marked_root;
};

// The installation; nullopt while no hokan-archive (or `hokan storage
// adopt`) has run on this database since schema 016.
// Throws hokan::Error(kDatabase).
std::optional<Installation> FindInstallation(Database& database);

// The installation, created at hokan::Now() with a random id when there is
// none. Safe from several processes at once: all get the same row.
// Throws hokan::Error(kDatabase).
Installation EnsureInstallation(Database& database);

// Records that `root` was marked with the id now (the first marking is
// kept unless `replace`: an adopted root replaces it).
// Throws hokan::Error(kDatabase).
void RecordStorageMarked(Database& database, const std::string& root, bool replace);

}  // namespace hokan::archive
