#pragma once

#include <cstdint>
#include <string>

#include "archive/index/instance_index.h"

namespace hokan::scp {

// Why an association request is turned away; each maps to one A-ASSOCIATE-RJ.
enum class AdmissionVerdict {
  kAccept,
  kCalledAeNotRecognized,   // rejected-permanent, called-AE-title-not-recognized
  kCallingAeNotRecognized,  // rejected-permanent, calling-AE-title-not-recognized
  kPeerNotAllowed,          // rejected-permanent, calling-AE-title-not-recognized
  kTemporarilyUnavailable,  // rejected-transient, temporary congestion (database down)
};

struct Admission {
  AdmissionVerdict verdict = AdmissionVerdict::kTemporarilyUnavailable;
  std::int64_t facility_id = 0;
  std::string facility_name;
  bool may_store = false;  // a query-only AE is admitted but its C-STOREs are refused
  std::string reason;  // for the log line
};

// Decides whether an association may proceed: the called AE title must be
// ours, the calling AE title known and enabled, and the peer address inside
// its facility's allowed networks. Never throws.
Admission DecideAdmission(archive::InstanceIndex& index, const std::string& our_ae_title,
                          const std::string& called_ae, const std::string& calling_ae,
                          const std::string& peer_address);

}  // namespace hokan::scp
