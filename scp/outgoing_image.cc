#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/outgoing_image.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <fmt/format.h>

#include <vector>

#include "archive/common/error.h"
#include "dicom/derived_image.h"

namespace hokan::scp {

std::string LoadStoredFile(const archive::FileStore& files, const std::string& relative_path,
                           DcmFileFormat& format) {
  if (const auto local = files.LocalPath(relative_path)) {
    const OFCondition loaded = format.loadFile(local->c_str());
    if (loaded.bad()) return fmt::format("cannot read {}: {}", local->string(), loaded.text());
    return {};
  }
  std::vector<char> bytes;
  try {
    const auto reader = files.OpenRead(relative_path);
    bytes.resize(reader->Size());
    std::size_t filled = 0;
    while (filled < bytes.size()) {
      const std::size_t got = reader->Read(bytes.data() + filled, bytes.size() - filled);
      if (got == 0) break;
      filled += got;
    }
    bytes.resize(filled);
  } catch (const Error& error) {
    return error.what();
  }
  DcmInputBufferStream stream;
  stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  stream.setEos();
  format.transferInit();
  const OFCondition read = format.read(stream);
  format.transferEnd();
  if (read.bad()) return fmt::format("cannot read {}: {}", relative_path, read.text());
  return {};
}

DerivedOutgoing MakeDerivedOutgoing(const archive::FileStore& files,
                                    const archive::Delivery& delivery,
                                    const archive::RetrievalRange& range) {
  DerivedOutgoing outgoing;
  auto format = std::make_unique<DcmFileFormat>();
  outgoing.error = LoadStoredFile(files, delivery.instance.relative_path, *format);
  if (!outgoing.error.empty()) return outgoing;
  const dicom::PixelLimits limits{range.purpose_id, range.max_rows, range.max_columns,
                                  range.lossy_only};
  const std::string error = dicom::MakeDerivedImage(*format->getDataset(), limits);
  if (!error.empty()) {
    outgoing.error = fmt::format("derived image for purpose {}: {}", range.purpose_name, error);
    return outgoing;
  }
  outgoing.transfer_syntax_uid =
      range.lossy_only ? dicom::kLossyTransferSyntax : UID_LittleEndianExplicitTransferSyntax;
  OFString uid;
  format->getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid);
  outgoing.sop_instance_uid = uid.c_str();
  outgoing.format = std::move(format);
  return outgoing;
}

}  // namespace hokan::scp
