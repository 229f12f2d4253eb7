#pragma once

// The storage root's marker: the file <root>/.hokan-storage naming the
// installation (the database, archive/index/installation_index.h) whose
// files the root holds. Only file work here; the policy of who may write
// and who must check it is in storage_root_guard.h.

#include <filesystem>
#include <optional>
#include <string>

namespace hokan::archive {

inline constexpr const char* kStorageMarkerName = ".hokan-storage";

// The installation id the marker of `root` names; nullopt when `root` has
// no marker (or does not exist). Throws hokan::Error(kStorage) when the
// marker cannot be read or names no id.
std::optional<std::string> ReadStorageMarker(const std::filesystem::path& root);

// Writes the marker naming `installation_id` into the existing folder
// `root`, atomically and durably (a temporary file, fsync, link or rename,
// fsync of the folder): a reader sees the old marker or the new one, never
// part of one. Without `replace`, an existing marker is left as it is and
// false returned (the caller reads it again); with `replace` it is
// replaced. Returns true when this call wrote the marker.
// Throws hokan::Error(kStorage) naming the root and the system error.
bool WriteStorageMarker(const std::filesystem::path& root, const std::string& installation_id,
                        bool replace);

}  // namespace hokan::archive
