#pragma once

// How the configuration tells facilities apart (docs/architecture.md,
// "Identity"): the archive AE title a caller calls, its calling AE title
// and its address together must name one facility.

#include <string>
#include <string_view>
#include <vector>

#include "archive/config/config.h"

namespace hokan::archive {

// What an allowed_peers entry is: an IP address, or a CIDR network whose
// address has no host bits set (10.0.0.0/8; 10.0.0.1/8 is kHostBitsSet:
// PostgreSQL's cidr type refuses it).
enum class PeerCheck { kValid, kMalformed, kHostBitsSet };
PeerCheck CheckPeer(const std::string& text);

// True when some address lies in both lists. Entries are IP addresses or
// CIDR networks as allowed_peers holds them; an empty list means every
// address. Two networks overlap when one contains the other (they agree on
// the bits of the shorter prefix); IPv4 and IPv6 entries never overlap
// (an IPv4 peer is matched as IPv4, as PostgreSQL's inet does).
// REQUIRES: every entry valid (ParseConfig checks allowed_peers).
bool PeerListsOverlap(const std::vector<std::string>& first,
                      const std::vector<std::string>& second);

// True when the facility is served on the shared [archive] ae_title: it has
// no archive_ae_titles of its own.
bool ServedOnSharedAeTitle(const FacilityConfig& facility);

// Refuses a configuration in which an association could name two
// facilities: an archive AE title of a facility equal to the shared
// [archive] ae_title or listed by two facilities, or, among the facilities
// served on the shared AE title, one calling AE title admitted by two of
// them from overlapping allowed_peers. Throws Error(kConfiguration) whose
// message names `source`, the AE title and both facilities.
void CheckFacilityIdentity(const ArchiveConfig& config, std::string_view source);

}  // namespace hokan::archive
