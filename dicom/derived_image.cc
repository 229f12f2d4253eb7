#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/derived_image.h"

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmimage/diregist.h"  // colour images in DicomImage
#include "dcmtk/dcmimgle/dcmimage.h"
#include "dcmtk/dcmjpls/djencode.h"
#include "dcmtk/dcmjpls/djrparam.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#include "dicom/dicom_sender.h"

namespace hokan::dicom {
namespace {

void RegisterEncoders() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    // UIDs and Image Type are ours to set (DerivedInstanceUid), never the codec's.
    DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFTrue, 0, OFTrue, EJLSUC_never);
  });
}

std::string Text(DcmDataset& data_set, const DcmTagKey& tag) {
  OFString value;
  data_set.findAndGetOFStringArray(tag, value);
  return value.c_str();
}

// Multiplies the row and column spacing of a Pixel Spacing attribute.
void ScalePixelSpacing(DcmDataset& data_set, const DcmTagKey& tag, double row_factor,
                       double column_factor) {
  Float64 row_spacing = 0;
  Float64 column_spacing = 0;
  if (data_set.findAndGetFloat64(tag, row_spacing, 0).bad() ||
      data_set.findAndGetFloat64(tag, column_spacing, 1).bad()) {
    return;
  }
  const std::string value =
      fmt::format("{:.6g}\\{:.6g}", row_spacing * row_factor, column_spacing * column_factor);
  data_set.putAndInsertString(tag, value.c_str());
}

// DCMTK's JPEG-LS encoder takes no signed pixels in near-lossless mode.
// Shifts signed 16-bit monochrome pixels (uncompressed) into the unsigned
// range (+2^(BitsStored-1)) and moves the shift into Rescale Intercept, so
// the modality values stay the same. Returns "" or why it cannot.
std::string MakeUnsigned(DcmDataset& data_set) {
  Uint16 representation = 0;
  data_set.findAndGetUint16(DCM_PixelRepresentation, representation);
  if (representation == 0) return {};
  Uint16 bits_allocated = 0;
  Uint16 bits_stored = 0;
  Uint16 samples = 1;
  data_set.findAndGetUint16(DCM_BitsAllocated, bits_allocated);
  data_set.findAndGetUint16(DCM_BitsStored, bits_stored);
  data_set.findAndGetUint16(DCM_SamplesPerPixel, samples);
  if (bits_allocated != 16 || samples != 1 || bits_stored == 0 || bits_stored > 16) {
    return fmt::format("signed {}-bit pixels with {} sample(s) cannot be compressed lossy",
                       bits_allocated, samples);
  }
  DcmElement* element = nullptr;
  Uint16* pixels = nullptr;
  if (data_set.findAndGetElement(DCM_PixelData, element).bad() ||
      element->getUint16Array(pixels).bad() || pixels == nullptr) {
    return "the pixel data cannot be read as 16-bit values";
  }
  const unsigned long count = element->getLength() / 2;
  const std::int32_t offset = 1 << (bits_stored - 1);
  const Uint16 mask = static_cast<Uint16>(bits_stored == 16 ? 0xFFFF : (1u << bits_stored) - 1);
  for (unsigned long i = 0; i < count; ++i) {
    std::int32_t value = pixels[i] & mask;
    if (value & offset) value -= (offset << 1);  // sign-extend from BitsStored
    pixels[i] = static_cast<Uint16>(value + offset);
  }
  Float64 intercept = 0;
  Float64 slope = 1;
  data_set.findAndGetFloat64(DCM_RescaleIntercept, intercept);
  if (data_set.findAndGetFloat64(DCM_RescaleSlope, slope).bad()) slope = 1;
  data_set.putAndInsertUint16(DCM_PixelRepresentation, 0);
  data_set.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(bits_stored - 1));
  data_set.putAndInsertString(DCM_RescaleIntercept,
                              fmt::format("{:.10g}", intercept - offset * slope).c_str());
  data_set.putAndInsertString(DCM_RescaleSlope, fmt::format("{:.10g}", slope).c_str());
  return {};
}

}  // namespace

const char* const kLossyTransferSyntax = UID_JPEGLSLossyTransferSyntax;

Matrix LimitedMatrix(int rows, int columns, const PixelLimits& limits) {
  double factor = 1.0;
  if (limits.max_rows && rows > *limits.max_rows) {
    factor = std::min(factor, static_cast<double>(*limits.max_rows) / rows);
  }
  if (limits.max_columns && columns > *limits.max_columns) {
    factor = std::min(factor, static_cast<double>(*limits.max_columns) / columns);
  }
  if (factor >= 1.0) return {rows, columns};
  Matrix matrix{static_cast<int>(std::floor(rows * factor)),
                static_cast<int>(std::floor(columns * factor))};
  matrix.rows = std::max(matrix.rows, 1);
  matrix.columns = std::max(matrix.columns, 1);
  return matrix;
}

std::string DerivedInstanceUid(const std::string& original_uid, std::int64_t purpose_id,
                               const Matrix& matrix, bool lossy) {
  const std::string input = fmt::format("hokan derived image\n{}\n{}\n{}x{}\n{}", original_uid,
                                        purpose_id, matrix.rows, matrix.columns,
                                        lossy ? "lossy" : "original");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  // The first 128 bits as a big-endian number, in decimal: repeated long
  // division of the 16 bytes by 10.
  std::vector<unsigned> number(digest, digest + 16);
  std::string decimal;
  while (std::any_of(number.begin(), number.end(), [](unsigned byte) { return byte != 0; })) {
    unsigned remainder = 0;
    for (unsigned& byte : number) {
      const unsigned current = remainder * 256 + byte;
      byte = current / 10;
      remainder = current % 10;
    }
    decimal.insert(decimal.begin(), static_cast<char>('0' + remainder));
  }
  return "2.25." + (decimal.empty() ? std::string("0") : decimal);
}

namespace {

// Scales the (uncompressed) pixels of a rows x columns image to `matrix`,
// Pixel Spacing and Imager Pixel Spacing to match. Returns "" or why not.
std::string Downscale(DcmDataset& data_set, Uint16 rows, Uint16 columns, const Matrix& matrix) {
  DicomImage image(&data_set, EXS_LittleEndianExplicit, CIF_UsePartialAccessToPixelData);
  if (image.getStatus() != EIS_Normal) {
    return fmt::format("the image toolkit cannot read the pixels: {}",
                       DicomImage::getString(image.getStatus()));
  }
  std::unique_ptr<DicomImage> scaled(
      image.createScaledImage(static_cast<unsigned long>(matrix.columns),
                              static_cast<unsigned long>(matrix.rows), 1 /*interpolate*/,
                              0 /*the matrix already keeps the aspect*/));
  if (!scaled || scaled->getStatus() != EIS_Normal) {
    return fmt::format("the image toolkit cannot scale {}x{} to {}x{}", rows, columns,
                       matrix.rows, matrix.columns);
  }
  const std::string pixel_spacing = Text(data_set, DCM_PixelSpacing);
  const std::string imager_pixel_spacing = Text(data_set, DCM_ImagerPixelSpacing);
  if (!scaled->writeImageToDataset(data_set)) {
    return "the image toolkit cannot write the scaled pixels";
  }
  // The toolkit rewrites Pixel Spacing itself when it knew it; scale what
  // it left as it was.
  const double row_factor = static_cast<double>(rows) / matrix.rows;
  const double column_factor = static_cast<double>(columns) / matrix.columns;
  if (!pixel_spacing.empty() && Text(data_set, DCM_PixelSpacing) == pixel_spacing) {
    ScalePixelSpacing(data_set, DCM_PixelSpacing, row_factor, column_factor);
  }
  if (!imager_pixel_spacing.empty() &&
      Text(data_set, DCM_ImagerPixelSpacing) == imager_pixel_spacing) {
    ScalePixelSpacing(data_set, DCM_ImagerPixelSpacing, row_factor, column_factor);
  }
  return {};
}

// JPEG-LS near-lossless compression, with the Lossy Image Compression
// attributes. Returns "" or why not.
std::string CompressLossy(DcmDataset& data_set) {
  const std::string unsigned_error = MakeUnsigned(data_set);
  if (!unsigned_error.empty()) return unsigned_error;
  const DJLSRepresentationParameter near_lossless(2, OFFalse);
  const E_TransferSyntax lossy = DcmXfer(kLossyTransferSyntax).getXfer();
  if (data_set.chooseRepresentation(lossy, &near_lossless).bad() ||
      !data_set.canWriteXfer(lossy)) {
    return "JPEG-LS near-lossless compression failed";
  }
  data_set.putAndInsertString(DCM_LossyImageCompression, "01");
  data_set.putAndInsertString(DCM_LossyImageCompressionMethod, "ISO_14495_1");
  return {};
}

// The derived image's identity: its UID, Image Type, Derivation
// Description and the Source Image Sequence naming the original.
void MarkDerived(DcmDataset& data_set, const std::string& original_uid,
                 const std::string& sop_class_uid, const std::string& derived_uid,
                 const std::string& description) {
  data_set.putAndInsertString(DCM_SOPInstanceUID, derived_uid.c_str());
  data_set.putAndInsertString(DCM_ImageType, "DERIVED\\SECONDARY");
  data_set.putAndInsertString(DCM_DerivationDescription,
                              ("hokan available range: " + description).substr(0, 1024).c_str());
  data_set.findAndDeleteElement(DCM_SourceImageSequence);
  DcmItem* source = nullptr;
  if (data_set.findOrCreateSequenceItem(DCM_SourceImageSequence, source, -2).good() && source) {
    source->putAndInsertString(DCM_ReferencedSOPClassUID, sop_class_uid.c_str());
    source->putAndInsertString(DCM_ReferencedSOPInstanceUID, original_uid.c_str());
  }
}

}  // namespace

std::string MakeDerivedImage(DcmDataset& data_set, const PixelLimits& limits) {
  DicomSender::RegisterDecoders();
  RegisterEncoders();
  const std::string original_uid = Text(data_set, DCM_SOPInstanceUID);
  const std::string sop_class_uid = Text(data_set, DCM_SOPClassUID);
  if (!data_set.tagExists(DCM_PixelData)) return "the instance has no pixel data";
  if (data_set.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() ||
      !data_set.canWriteXfer(EXS_LittleEndianExplicit)) {
    return fmt::format("cannot decompress {} (no decoder)",
                       DcmXfer(data_set.getOriginalXfer()).getXferName());
  }
  data_set.removeAllButCurrentRepresentations();  // work on the uncompressed pixels only
  Uint16 rows = 0;
  Uint16 columns = 0;
  data_set.findAndGetUint16(DCM_Rows, rows);
  data_set.findAndGetUint16(DCM_Columns, columns);
  const Matrix matrix = LimitedMatrix(rows, columns, limits);
  std::string description;
  if (matrix.rows != rows || matrix.columns != columns) {
    const std::string error = Downscale(data_set, rows, columns, matrix);
    if (!error.empty()) return error;
    description = fmt::format("downscaled from {}x{} to {}x{}", rows, columns, matrix.rows,
                              matrix.columns);
  }
  if (limits.lossy_only) {
    const std::string error = CompressLossy(data_set);
    if (!error.empty()) return error;
    if (!description.empty()) description += "; ";
    description += "JPEG-LS near-lossless copy";
  }
  MarkDerived(data_set, original_uid, sop_class_uid,
              DerivedInstanceUid(original_uid, limits.purpose_id, matrix, limits.lossy_only),
              description);
  return {};
}

}  // namespace hokan::dicom
