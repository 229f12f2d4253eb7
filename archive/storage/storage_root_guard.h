#pragma once

// Whether a storage root is this database's: the check every tool that
// deletes stored files makes first (issue 14, item 6). A wrong path (or a
// volume not mounted) must never make expiry delete the index rows of
// files it cannot see. The root carries a marker (storage_marker.h) naming
// the installation (archive/index/installation_index.h); hokan-archive
// writes it at its first start, and only an operator moves it
// (`hokan storage adopt`, or hokan-archive --adopt-storage-root).

#include <filesystem>
#include <optional>
#include <string>

namespace hokan::archive {

class Database;

struct StorageRootClaim {
  std::string installation_id;
  bool marked_now = false;  // this start wrote the marker
  // With `adopt`: the installation the root named before, "" for none.
  std::optional<std::string> adopted_from;
};

// hokan-archive's start-up, before anything touches `root`:
// - `root` carries this installation's marker: nothing to do;
// - it has no marker and this database never marked a root (the first
//   start, or the first after the upgrade to schema 016): the archive's
//   own root is trusted and marked now (the folder is created if missing);
// - it has no marker although this database marked a root before (a wrong
//   path, a volume not mounted), or it carries another installation's
//   marker: throws hokan::Error(kConfiguration) naming the root, what was
//   expected and found, and how to fix it; unless `adopt`, which marks it
//   for this database instead.
// Throws hokan::Error(kStorage) or (kDatabase) when it cannot tell.
StorageRootClaim ClaimStorageRoot(Database& database, const std::filesystem::path& root,
                                  bool adopt);

// Throws hokan::Error(kConfiguration) unless `root` carries the marker of
// `installation_id`; the message names the root, what was expected and
// found, and how to fix it. For the deleting tools, before they delete.
// Throws hokan::Error(kStorage) when the marker cannot be read.
void RequireStorageRoot(const std::filesystem::path& root, const std::string& installation_id);

// The same for a tool that knows only the database (the `hokan` command):
// also refuses when no hokan-archive ever ran on this database since
// schema 016 (nothing was marked). Never writes a marker. Returns the id.
std::string RequireOwnStorageRoot(Database& database, const std::filesystem::path& root);

// `hokan storage adopt`: marks the existing folder `root` for this
// database, replacing another installation's marker, and writes an audit
// row (storage.adopt) by `actor`. Returns what the root named before
// ("" for no marker). Throws hokan::Error(kInvalidInput) when `root` is
// not a folder, (kStorage) or (kDatabase).
std::string AdoptStorageRoot(Database& database, const std::filesystem::path& root,
                             const std::string& actor);

}  // namespace hokan::archive
