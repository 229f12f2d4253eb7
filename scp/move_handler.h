#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include "dcmtk/dcmnet/dimse.h"

namespace hokan::scp {

class ArchiveScp;

// C-MOVE: the destination AE title must be a known move destination of the
// caller's facility (else 0xA801); the sub-operations go over a new
// association to it (dicom::DicomSender), stored files streamed as they
// are, derived images where the purpose calls for them. The rest is
// RetrieveHandler's.
class MoveHandler {
 public:
  explicit MoveHandler(ArchiveScp& scp) : scp_(scp) {}
  OFCondition Handle(T_DIMSE_C_MoveRQ& request, T_ASC_PresentationContextID context_id);

 private:
  ArchiveScp& scp_;
};

}  // namespace hokan::scp
