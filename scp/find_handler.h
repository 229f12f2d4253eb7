#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <chrono>
#include <cstdint>
#include <string>

#include "dcmtk/dcmnet/dimse.h"

#include "archive/config/config.h"
#include "archive/index/query_index.h"

namespace hokan::scp {

class ArchiveScp;

// The C-FIND bounds of `config` ([archive] find_max_matches,
// find_statement_timeout_ms).
archive::FindLimits FindLimitsOf(const archive::ArchiveConfig& config);

// C-FIND in the Patient Root and Study Root models: parses the identifier,
// asks the query service (scoped to the caller's facility, the patients
// shared with it and, under a purpose, its range) and sends each match as
// a pending response as it comes, honouring C-CANCEL between matches.
// Within the configured bounds (FindLimitsOf): more matches than
// archive.find_max_matches are refused with 0xA700 Out of Resources before
// any is sent (PS3.4 C.4.1.1.4: a client gets no truncated list that
// looks complete); a statement that runs past
// archive.find_statement_timeout_ms ends the C-FIND with 0xA700 too. Both
// carry an Error Comment naming the limit.
class FindHandler {
 public:
  explicit FindHandler(ArchiveScp& scp) : scp_(scp) {}
  OFCondition Handle(T_DIMSE_C_FindRQ& request, T_ASC_PresentationContextID context_id);

 private:
  // The final response, and its log line.
  OFCondition Finish(T_ASC_PresentationContextID context_id, const T_DIMSE_C_FindRQ& request,
                     std::uint16_t status, const std::string& comment, std::size_t matches,
                     const char* level);

  ArchiveScp& scp_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace hokan::scp
