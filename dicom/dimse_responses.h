#pragma once

// Pieces of DIMSE responses that hokan-archive's and hokan-forward's SCPs
// both build.

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <memory>
#include <string>

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmnet/dimse.h"

namespace hokan::dicom {

// A status detail carrying an Error Comment (LO: at most 64 characters; no
// backslash or control characters).
std::unique_ptr<DcmDataset> ErrorDetail(const std::string& error_comment);

// The N-ACTION-RSP to `request` with `status`, naming the requested SOP
// class and instance as the affected ones, without a data set.
T_DIMSE_Message ActionResponse(const T_DIMSE_N_ActionRQ& request, std::uint16_t status);

}  // namespace hokan::dicom
