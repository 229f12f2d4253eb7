#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <string>

#include "dcmtk/dcmnet/dimse.h"

namespace hokan::scp {

class ArchiveScp;

// N-GET of the hokan Facility Contract SOP class (dicom/facility_contract.h):
// answers the caller's facility's contract in effect at hokan::Now() with
// its backup timing. Who may ask is the archive's admission plus
// CallerScope::may_store (a query-only AE gets 0x0124 Refused: Not
// authorized); no contract in effect: 0x0112 No such SOP Instance, with an
// Error Comment saying so; an unknown SOP instance 0x0112, another SOP
// class 0x0118; the index unreadable: 0x0110.
class ContractHandler {
 public:
  explicit ContractHandler(ArchiveScp& scp) : scp_(scp) {}
  OFCondition Handle(const T_DIMSE_N_GetRQ& request, T_ASC_PresentationContextID context_id);

 private:
  OFCondition Respond(T_ASC_PresentationContextID context_id, const T_DIMSE_N_GetRQ& request,
                      std::uint16_t status, const std::string& error_comment,
                      DcmDataset* attributes);

  ArchiveScp& scp_;
};

}  // namespace hokan::scp
