#pragma once

#include <cstdint>

#include "archive/ingest/ingest_service.h"
#include "dicom/dimse_status.h"

namespace hokan::scp {

// The C-STORE response status for an ingest outcome (a refusal carries its
// own status: 0x0124 Refused: Not Authorized unless a rule says otherwise).
std::uint16_t StoreStatusFor(const archive::IngestResult& result);

}  // namespace hokan::scp
