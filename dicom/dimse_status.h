#pragma once

// The one table of DIMSE status codes hokan sends or checks (PS3.7 Annex C,
// PS3.4 B.2.3, C.4, J.3). Both programs (hokan-archive and hokan-forward)
// use these names; no other file spells a status as a number. A storage
// rule's configured reject status is data (archive/rules), not a constant.

#include <cstdint>

namespace hokan::dicom::status {

// General.
inline constexpr std::uint16_t kSuccess = 0x0000;
inline constexpr std::uint16_t kPending = 0xFF00;
inline constexpr std::uint16_t kPendingWarning = 0xFF01;  // C-FIND: optional keys not supported
inline constexpr std::uint16_t kCancel = 0xFE00;
inline constexpr std::uint16_t kProcessingFailure = 0x0110;
inline constexpr std::uint16_t kNoSuchSopInstance = 0x0112;
inline constexpr std::uint16_t kInvalidArgumentValue = 0x0115;
inline constexpr std::uint16_t kInvalidObjectInstance = 0x0117;
inline constexpr std::uint16_t kNoSuchSopClass = 0x0118;
inline constexpr std::uint16_t kSopClassNotSupported = 0x0122;
inline constexpr std::uint16_t kNoSuchActionType = 0x0123;
inline constexpr std::uint16_t kRefusedNotAuthorized = 0x0124;
inline constexpr std::uint16_t kResourceLimitation = 0x0213;

// C-STORE, C-FIND, C-MOVE, C-GET failures and warnings.
inline constexpr std::uint16_t kOutOfResources = 0xA700;
inline constexpr std::uint16_t kOutOfResourcesSubOperations = 0xA702;
inline constexpr std::uint16_t kMoveDestinationUnknown = 0xA801;
// C-STORE "Data Set does not match SOP Class"; C-FIND, C-MOVE, C-GET
// "Identifier does not match SOP Class".
inline constexpr std::uint16_t kDoesNotMatchSopClass = 0xA900;
inline constexpr std::uint16_t kCannotUnderstand = 0xC000;
// "Cannot understand" family, hokan-specific: the SOP Instance UID is stored
// with different content and the stored copy is kept.
inline constexpr std::uint16_t kDuplicateDifferentContent = 0xC010;
inline constexpr std::uint16_t kSubOperationsCompleteWithFailures = 0xB000;

}  // namespace hokan::dicom::status
