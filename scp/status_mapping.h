#pragma once

#include <cstdint>

#include "archive/ingest/ingest_service.h"

namespace hokan::scp {

// DIMSE status codes hokan answers C-STORE with (PS3.4 B.2.3).
constexpr std::uint16_t kStatusSuccess = 0x0000;
constexpr std::uint16_t kStatusOutOfResources = 0xA700;
constexpr std::uint16_t kStatusDataSetDoesNotMatchSopClass = 0xA900;
constexpr std::uint16_t kStatusCannotUnderstand = 0xC000;
// "Cannot understand" family, hokan-specific: the SOP Instance UID is stored
// with different content and the stored copy is kept.
constexpr std::uint16_t kStatusDuplicateDifferentContent = 0xC010;

// The C-STORE response status for an ingest outcome (a refusal carries its
// own status: 0x0124 Refused: Not Authorized unless a rule says otherwise).
std::uint16_t StoreStatusFor(const archive::IngestResult& result);

}  // namespace hokan::scp
