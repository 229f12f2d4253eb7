#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "archive/config/config.h"
#include "archive/index/instance_index.h"
#include "billing/purposes.h"

namespace hokan::scp {

// Why an association request is turned away; each maps to one A-ASSOCIATE-RJ.
enum class AdmissionVerdict {
  kAccept,
  kCalledAeNotRecognized,   // rejected-permanent, called-AE-title-not-recognized
  kCallingAeNotRecognized,  // rejected-permanent, calling-AE-title-not-recognized
  kPeerNotAllowed,          // rejected-permanent, calling-AE-title-not-recognized
  kCallerAmbiguous,         // rejected-permanent, calling-AE-title-not-recognized
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
  // False when a purpose is bound to the archive AE title called and the
  // caller is not granted it: it may still store, but C-FIND, C-MOVE and
  // C-GET get 0x0124.
  bool may_retrieve = true;
  std::string reason;  // for the log line
};

// The archive AE titles of this node and the facilities each serves.
struct ArchiveAeTitles {
  std::string shared;                            // [archive] ae_title
  std::map<std::string, std::string> own;        // a facility's archive AE title → facility
  std::set<std::string> facilities_with_own;     // not served on the shared AE title
};

ArchiveAeTitles ArchiveAeTitlesOf(const archive::ArchiveConfig& config);

// Which of the facilities knowing a calling AE title an association is.
struct CallerChoice {
  AdmissionVerdict verdict = AdmissionVerdict::kCallingAeNotRecognized;
  std::optional<archive::Caller> caller;  // when kAccept
  std::string reason;                     // when not kAccept, for the log line
};

// Pure. `candidates`: the calling AE title's caller rows, one per facility
// (InstanceIndex::FindCallers). `own_facility`: the facility whose own
// archive AE title was called; nullopt for a shared AE title (the main one
// or a purpose's), which serves every facility not in
// `facilities_with_own`. Of the candidates the called AE title serves, the
// one whose allowed networks hold the peer is the caller (kAccept); none
// served: kCallingAeNotRecognized; served but the peer outside each:
// kPeerNotAllowed; several hold the peer: kCallerAmbiguous (the reason
// names them; start-up refuses such configurations, so only rows made
// outside the configuration can cause it).
CallerChoice ChooseCaller(const std::vector<archive::Caller>& candidates,
                          const std::optional<std::string>& own_facility,
                          const std::set<std::string>& facilities_with_own,
                          const std::string& calling_ae, const std::string& peer_address);

// Decides whether an association may proceed: the called AE title must be
// one of `titles` (shared or a facility's own) or a purpose's called AE
// title (looked up in `purposes` when not null); ChooseCaller then picks
// the facility from the calling AE title and the peer address; for a
// purpose's own AE title, the calling AE must be granted that purpose.
// Never throws: a database failure is kTemporarilyUnavailable.
Admission DecideAdmission(archive::InstanceIndex& index, billing::PurposeDirectory* purposes,
                          const ArchiveAeTitles& titles, const std::string& called_ae,
                          const std::string& calling_ae, const std::string& peer_address);

}  // namespace hokan::scp
