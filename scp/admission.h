#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "archive/index/instance_index.h"
#include "billing/purposes.h"

namespace hokan::scp {

// Why an association request is turned away; each maps to one A-ASSOCIATE-RJ.
enum class AdmissionVerdict {
  kAccept,
  kCalledAeNotRecognized,   // rejected-permanent, called-AE-title-not-recognized
  kCallingAeNotRecognized,  // rejected-permanent, calling-AE-title-not-recognized
  kPeerNotAllowed,          // rejected-permanent, calling-AE-title-not-recognized
  kPurposeNotGranted,       // rejected-permanent, calling-AE-title-not-recognized
  kTemporarilyUnavailable,  // rejected-transient, temporary congestion (database down)
};

struct Admission {
  AdmissionVerdict verdict = AdmissionVerdict::kTemporarilyUnavailable;
  std::int64_t facility_id = 0;
  std::string facility_name;
  bool may_store = false;  // a query-only AE is admitted but its C-STOREs are refused
  // The purpose the association retrieves under (its called AE's); nullopt:
  // none (the main AE title with no purpose bound to it).
  std::optional<billing::Purpose> purpose;
  // False when a purpose is bound to the main AE title and the caller is not
  // granted it: it may still store, but C-FIND, C-MOVE and C-GET get 0x0124.
  bool may_retrieve = true;
  std::string reason;  // for the log line
};

// Decides whether an association may proceed: the called AE title must be
// ours (`our_ae_title`) or a purpose's called AE title (looked up in
// `purposes` when not null), the calling AE title known and enabled, the
// peer address inside its facility's allowed networks, and, for a purpose's
// own AE title, the calling AE granted that purpose. Never throws: a
// database failure is kTemporarilyUnavailable.
Admission DecideAdmission(archive::InstanceIndex& index, billing::PurposeDirectory* purposes,
                          const std::string& our_ae_title, const std::string& called_ae,
                          const std::string& calling_ae, const std::string& peer_address);

}  // namespace hokan::scp
