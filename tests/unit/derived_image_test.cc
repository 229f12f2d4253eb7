// dicom/derived_image: downscaling and lossy-only copies of real files.
#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <filesystem>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include "dicom/derived_image.h"

using hokan::dicom::DerivedInstanceUid;
using hokan::dicom::LimitedMatrix;
using hokan::dicom::MakeDerivedImage;
using hokan::dicom::Matrix;
using hokan::dicom::PixelLimits;

namespace {

const std::filesystem::path kTestFiles = HOKAN_PYDICOM_DATA "/test_files";

std::string Text(DcmItem& item, const DcmTagKey& tag, unsigned long pos = 0) {
  OFString value;
  item.findAndGetOFString(tag, value, pos);
  return value.c_str();
}

int Number(DcmItem& item, const DcmTagKey& tag) {
  Uint16 value = 0;
  item.findAndGetUint16(tag, value);
  return value;
}

}  // namespace

TEST_CASE("the limited matrix keeps the aspect and never grows") {
  const PixelLimits limits{7, 128, 128, false};
  struct Case {
    int rows, columns, expected_rows, expected_columns;
  };
  for (const Case& c : {Case{512, 512, 128, 128}, Case{512, 256, 128, 64},
                        Case{100, 400, 32, 128}, Case{128, 128, 128, 128},
                        Case{64, 32, 64, 32}, Case{10000, 1, 128, 1}}) {
    const Matrix matrix = LimitedMatrix(c.rows, c.columns, limits);
    INFO(c.rows << "x" << c.columns);
    CHECK(matrix.rows == c.expected_rows);
    CHECK(matrix.columns == c.expected_columns);
  }
}

TEST_CASE("derived UIDs are deterministic, valid and differ per input") {
  const std::string uid = DerivedInstanceUid("1.2.3.4", 7, {64, 64}, false);
  CHECK(uid.rfind("2.25.", 0) == 0);
  CHECK(uid.size() <= 64);
  CHECK(uid.find_first_not_of("0123456789.") == std::string::npos);
  CHECK(uid.substr(5, 1) != "0");
  CHECK(uid == DerivedInstanceUid("1.2.3.4", 7, {64, 64}, false));
  CHECK(uid != DerivedInstanceUid("1.2.3.4", 8, {64, 64}, false));
  CHECK(uid != DerivedInstanceUid("1.2.3.4", 7, {32, 32}, false));
  CHECK(uid != DerivedInstanceUid("1.2.3.4", 7, {64, 64}, true));
  CHECK(uid != DerivedInstanceUid("1.2.3.5", 7, {64, 64}, false));
}

TEST_CASE("a real CT is downscaled into a derived image referencing the original") {
  DcmFileFormat format;
  REQUIRE(format.loadFile((kTestFiles / "CT_small.dcm").c_str()).good());
  DcmDataset& data_set = *format.getDataset();
  const std::string original_uid = Text(data_set, DCM_SOPInstanceUID);
  std::string spacing;
  {
    OFString value;
    data_set.findAndGetOFStringArray(DCM_PixelSpacing, value);
    spacing = value.c_str();
  }
  REQUIRE(Number(data_set, DCM_Rows) == 128);

  const PixelLimits limits{42, 64, 64, false};
  REQUIRE(MakeDerivedImage(data_set, limits) == "");
  CHECK(Number(data_set, DCM_Rows) == 64);
  CHECK(Number(data_set, DCM_Columns) == 64);
  const std::string derived_uid = Text(data_set, DCM_SOPInstanceUID);
  CHECK(derived_uid == DerivedInstanceUid(original_uid, 42, {64, 64}, false));
  CHECK(derived_uid != original_uid);
  CHECK(Text(data_set, DCM_ImageType, 0) == "DERIVED");
  CHECK(Text(data_set, DCM_ImageType, 1) == "SECONDARY");
  CHECK_THAT(Text(data_set, DCM_DerivationDescription),
             Catch::Contains("downscaled from 128x128 to 64x64"));
  DcmItem* source = nullptr;
  REQUIRE(data_set.findAndGetSequenceItem(DCM_SourceImageSequence, source, 0).good());
  CHECK(Text(*source, DCM_ReferencedSOPInstanceUID) == original_uid);
  CHECK(Text(*source, DCM_ReferencedSOPClassUID) == "1.2.840.10008.5.1.4.1.1.2");
  // 16-bit pixels, one frame of 64x64.
  DcmElement* pixels = nullptr;
  REQUIRE(data_set.findAndGetElement(DCM_PixelData, pixels).good());
  CHECK(pixels->getLength() == 64u * 64u * 2u);
  // Twice the spacing for half the matrix (0.661468 in CT_small.dcm).
  REQUIRE(spacing == "0.661468\\0.661468");
  Float64 row_spacing = 0;
  REQUIRE(data_set.findAndGetFloat64(DCM_PixelSpacing, row_spacing, 0).good());
  CHECK(row_spacing == Approx(1.322936).epsilon(1e-4));
  // The same input gives the same instance (a retry).
  DcmFileFormat again;
  REQUIRE(again.loadFile((kTestFiles / "CT_small.dcm").c_str()).good());
  REQUIRE(MakeDerivedImage(*again.getDataset(), limits) == "");
  CHECK(Text(*again.getDataset(), DCM_SOPInstanceUID) == derived_uid);
}

TEST_CASE("a compressed MR becomes a JPEG-LS near-lossless copy for lossy-only purposes") {
  DcmFileFormat format;
  REQUIRE(format.loadFile((kTestFiles / "MR_small_jpeg_ls_lossless.dcm").c_str()).good());
  DcmDataset& data_set = *format.getDataset();
  const std::string original_uid = Text(data_set, DCM_SOPInstanceUID);
  REQUIRE(MakeDerivedImage(data_set, PixelLimits{3, std::nullopt, std::nullopt, true}) == "");
  const E_TransferSyntax lossy = DcmXfer(hokan::dicom::kLossyTransferSyntax).getXfer();
  CHECK(data_set.canWriteXfer(lossy));
  CHECK(Text(data_set, DCM_LossyImageCompression) == "01");
  CHECK(Text(data_set, DCM_LossyImageCompressionMethod) == "ISO_14495_1");
  CHECK(Number(data_set, DCM_Rows) == 64);
  CHECK(Text(data_set, DCM_SOPInstanceUID) ==
        DerivedInstanceUid(original_uid, 3, {64, 64}, true));
}

TEST_CASE("an instance without pixels cannot be derived") {
  DcmFileFormat format;
  REQUIRE(format.loadFile((kTestFiles / "test-SR.dcm").c_str()).good());
  CHECK(MakeDerivedImage(*format.getDataset(), PixelLimits{1, 16, 16, false}) ==
        "the instance has no pixel data");
}
