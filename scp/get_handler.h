#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include "dcmtk/dcmnet/dimse.h"

namespace hokan::scp {

class ArchiveScp;

// C-GET: the sub-operations go back over this association, on the storage
// contexts the requestor accepted in the SCP role: a stored file streamed
// as it is when its syntax was accepted, else converted; derived images
// where the purpose calls for them. The rest is RetrieveHandler's.
class GetHandler {
 public:
  explicit GetHandler(ArchiveScp& scp) : scp_(scp) {}
  OFCondition Handle(T_DIMSE_C_GetRQ& request, T_ASC_PresentationContextID context_id);

 private:
  ArchiveScp& scp_;
};

}  // namespace hokan::scp
