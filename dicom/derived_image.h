#pragma once

// What an available range does to one image on its way out: downscaling to
// a maximum matrix and lossy-only copies. Pure DICOM work on one data set;
// knows nothing of purposes' storage or of the network. Whether an image
// goes derived at all is the retrieve service's decision
// (archive::FormUnder in archive/retrieve/retrieve_service.h).

#include <cstdint>
#include <optional>
#include <string>

class DcmDataset;

namespace hokan::dicom {

// The limits a purpose puts on pixels.
struct PixelLimits {
  std::int64_t purpose_id = 0;      // part of a derived image's UID
  std::optional<int> max_rows;      // larger images are downscaled
  std::optional<int> max_columns;
  bool lossy_only = false;          // send a lossy-compressed copy only
};

// The matrix an image of rows x columns gets under `limits`: scaled down by
// one factor (aspect kept) so that neither limit is exceeded, each side at
// least 1; unchanged when it fits.
struct Matrix {
  int rows = 0;
  int columns = 0;
};
Matrix LimitedMatrix(int rows, int columns, const PixelLimits& limits);

// The SOP Instance UID of the derived image of `original_uid` made under
// `purpose_id` at `matrix` (and lossy or not): "2.25." and the decimal value
// of the first 128 bits of the SHA-256 of those inputs. The same inputs
// always give the same UID, so a retry sends the same instance.
std::string DerivedInstanceUid(const std::string& original_uid, std::int64_t purpose_id,
                               const Matrix& matrix, bool lossy);

// The JPEG-LS near-lossless transfer syntax lossy-only copies are sent in.
extern const char* const kLossyTransferSyntax;

// Turns `data_set` (an image as stored, in any syntax DCMTK's registered
// decoders read) into the derived image `limits` call for: downscaled with
// DCMTK's image toolkit when larger than the limits (Pixel Spacing scaled
// to match), JPEG-LS near-lossless compressed when lossy_only (Lossy Image
// Compression "01", Ratio and Method). The result has a new SOP Instance
// UID (DerivedInstanceUid), Image Type DERIVED\SECONDARY, a Derivation
// Description and a Source Image Sequence referencing the original.
// On return `data_set` is in kLossyTransferSyntax when lossy_only, else in
// Explicit VR Little Endian. Returns "" on success, else why it could not
// (no pixel data, a syntax without decoder, a photometric interpretation
// the toolkit cannot scale); `data_set` is then unspecified.
// Registers the codecs it needs once per process; thread-safe.
std::string MakeDerivedImage(DcmDataset& data_set, const PixelLimits& limits);

}  // namespace hokan::dicom
