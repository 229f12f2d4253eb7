#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/dicomdir_writer.h"

#include <fmt/format.h>

#include "dcmtk/dcmdata/dcddirif.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/oflog/oflog.h"

#include "archive/common/error.h"

namespace hokan::dicom {

std::vector<std::pair<std::string, std::string>> DcmtkFileSetWriter::Write(
    const std::filesystem::path& folder, const std::string& file_set_id,
    const std::vector<std::string>& file_ids) {
  if (!dcmDataDict.isDictionaryLoaded()) {
    throw Error(ErrorCode::kConfiguration,
                "the DICOM data dictionary is not loaded: cannot write a DICOMDIR");
  }
  // DicomDirInterface reports every file it adds at INFO level: keep its
  // warnings (e.g. a compressed transfer syntax), drop the chatter.
  OFLogger logger = OFLog::getLogger("dcmtk.dcmdata");
  if (logger.isEnabledFor(OFLogger::INFO_LOG_LEVEL)) logger.setLogLevel(OFLogger::WARN_LOG_LEVEL);
  const std::filesystem::path dicomdir_path = folder / "DICOMDIR";
  DicomDirInterface dicomdir;
  dicomdir.enableInventMode(OFTrue);
  dicomdir.enableRetiredSOPClassSupport(OFTrue);
  dicomdir.disableBackupMode();           // a fresh folder: nothing to back up
  dicomdir.disableTransferSyntaxCheck();  // keep files as stored, compressed included
  dicomdir.disableEncodingCheck();
  dicomdir.disableResolutionCheck();
  OFCondition status =
      dicomdir.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose,
                                 OFFilename(dicomdir_path.c_str()), OFString(file_set_id.c_str()));
  if (status.bad()) {
    throw Error(ErrorCode::kStorage, fmt::format("DICOMDIR {}: creating it failed: {}",
                                                 dicomdir_path.string(), status.text()));
  }
  std::vector<std::pair<std::string, std::string>> refused;
  const OFFilename directory(folder.c_str());
  for (const auto& file_id : file_ids) {
    status = dicomdir.addDicomFile(OFFilename(file_id.c_str()), directory);
    if (status.bad()) refused.emplace_back(file_id, status.text());
  }
  status = dicomdir.writeDicomDir();
  if (status.bad()) {
    throw Error(ErrorCode::kStorage, fmt::format("DICOMDIR {}: writing it failed: {}",
                                                 dicomdir_path.string(), status.text()));
  }
  return refused;
}

}  // namespace hokan::dicom
