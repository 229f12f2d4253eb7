#pragma once

// The DICOM side of the deluxe offline export: DICOMDIR writing with DCMTK.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "archive/export/offline_export_service.h"

namespace hokan::dicom {

// Writes a DICOMDIR with DCMTK's DicomDirInterface, General Purpose
// profile (STD-GEN-CD/DVD/USB), with the checks relaxed so that files
// stored in any transfer syntax are referenced as they are (compressed,
// implicit VR; the strict profile wants Explicit VR Little Endian only):
// no transfer syntax, pixel encoding or resolution check, missing type 1
// directory attributes invented, retired SOP classes allowed. A file DCMTK
// still refuses (not DICOM Part 10, no SOP Class/Instance UID, an
// unreadable data set) is returned with DCMTK's reason. Thread-compatible:
// one Write at a time per writer.
class DcmtkFileSetWriter : public archive::FileSetWriter {
 public:
  std::vector<std::pair<std::string, std::string>> Write(
      const std::filesystem::path& folder, const std::string& file_set_id,
      const std::vector<std::string>& file_ids) override;
};

}  // namespace hokan::dicom
