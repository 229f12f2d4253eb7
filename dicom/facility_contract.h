#pragma once

// The "hokan Facility Contract" SOP class: how hokan-forward learns its
// facility's backup timing from hokan-archive. The relay sends an N-GET of
// kFacilityContractSopInstanceUid on an association the archive admitted
// like its stores (called AE, calling AE, peer address; the facility's TLS
// policy); the archive answers the caller's facility's contract in effect
// as private attributes of creator kContractPrivateCreator:
//   (0077,xx01) LO  contract id (decimal)
//   (0077,xx02) LO  facility name
//   (0077,xx03) CS  backup timing: ON_RECEIPT, NIGHTLY or PER_EXAM
//   (0077,xx04) TM  nightly time HHMM, UTC (NIGHTLY only)
//   (0077,xx05) US  exam quiet minutes (PER_EXAM only)
// Private attributes carry no VR in Implicit VR, so both ends negotiate
// only Explicit VR Little Endian for this SOP class.

#include "dcmtk/config/osconfig.h"  // must come first

#include "archive/model/contract_timing.h"

class DcmDataset;

namespace hokan::dicom {

// UIDs under 2.25 (PS3.5 B.2, derived from UUIDs chosen for hokan).
inline constexpr const char* kFacilityContractSopClassUid =
    "2.25.186290572451556003353334530758200489295";
// The one instance: "the caller's facility's contract in effect now".
inline constexpr const char* kFacilityContractSopInstanceUid =
    "2.25.90287979743350780182347214393188455183";
inline constexpr const char* kContractPrivateCreator = "HOKAN CONTRACT 1";

// Writes `timing` into `data_set` as above. REQUIRES: backup_timing is one
// of "on_receipt", "nightly", "per_exam", with nightly_at_minutes (0-1439)
// set for nightly and exam_quiet_minutes (1-65535) for per_exam; otherwise
// throws hokan::Error(kInvalidInput) naming the value.
void EncodeContractTiming(const archive::ContractTiming& timing, DcmDataset& data_set);

// Reads a data set written by EncodeContractTiming. Throws
// hokan::Error(kInvalidInput) naming the attribute that is missing or bad:
// no private creator "HOKAN CONTRACT 1" in group 0077, a missing contract
// id, facility or backup timing, an unknown backup timing, a nightly time
// missing or not HHMM, exam quiet minutes missing or 0.
archive::ContractTiming DecodeContractTiming(DcmDataset& data_set);

}  // namespace hokan::dicom
