#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <string>

#include "dcmtk/dcmnet/dimse.h"

#include "archive/commitment/commitment_service.h"

namespace hokan::scp {

class ArchiveScp;

// Storage Commitment Push Model (PS3.4 Annex J), N-ACTION: validates the
// request, has the commitment service keep it with its report job,
// answers, then tries to deliver the N-EVENT-REPORT on this association;
// otherwise the job sends it on a new one.
class CommitmentHandler {
 public:
  explicit CommitmentHandler(ArchiveScp& scp) : scp_(scp) {}
  OFCondition Handle(T_DIMSE_N_ActionRQ& request, T_ASC_PresentationContextID context_id);

 private:
  // Why the request cannot be served (a status and its comment), or status 0.
  struct Refusal {
    std::uint16_t status = 0;
    std::string comment;
  };
  Refusal Check(const T_DIMSE_N_ActionRQ& request, Uint16 action_type) const;
  // After the success response: the report on this association, or the job's.
  OFCondition Report(T_ASC_PresentationContextID context_id,
                     const archive::AddedCommitmentRequest& added,
                     const std::string& transaction_uid);
  void HandOver(const archive::AddedCommitmentRequest& added, const std::string& transaction_uid,
                const std::string& why);
  OFCondition Respond(T_ASC_PresentationContextID context_id, const T_DIMSE_N_ActionRQ& request,
                      std::uint16_t status, const std::string& error_comment);

  ArchiveScp& scp_;
};

}  // namespace hokan::scp
