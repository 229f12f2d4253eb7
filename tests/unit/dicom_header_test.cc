#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "dicom/character_set.h"
#include "dicom/dicom_header.h"

using hokan::dicom::ReadInstanceHeader;

namespace {
const std::filesystem::path kTestFiles = HOKAN_PYDICOM_DATA "/test_files";
const std::filesystem::path kCharsetFiles = HOKAN_PYDICOM_DATA "/charset_files";
}  // namespace

TEST_CASE("attributes are extracted from a real CT file") {
  const auto result = ReadInstanceHeader(kTestFiles / "CT_small.dcm");
  REQUIRE(result.ok);
  const auto& a = result.attributes;
  CHECK(a.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2");
  CHECK(a.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
  CHECK(a.study_instance_uid == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
  CHECK(a.modality == "CT");
  CHECK(a.patient_name == "CompressedSamples^CT1");
  CHECK(a.patient_id == "1CT1");
  CHECK(a.rows == 128);
  CHECK(a.columns == 128);
  CHECK(a.transfer_syntax_uid == "1.2.840.10008.1.2.1");
}

TEST_CASE("names are converted to UTF-8 from the data set's character set") {
  const auto greek = ReadInstanceHeader(kCharsetFiles / "chrGreek.dcm");
  REQUIRE(greek.ok);
  CHECK(greek.attributes.patient_name == "Διονυσιος");
}

TEST_CASE("names in ISO 2022 code extensions are converted to UTF-8") {
  // Debian's DCMTK (iconv) cannot convert these; hokan's own converter does.
  const auto japanese = ReadInstanceHeader(kCharsetFiles / "chrH31.dcm");
  REQUIRE(japanese.ok);
  CHECK(japanese.character_set_warning.empty());
  CHECK(japanese.attributes.patient_name == "Yamada^Tarou=山田^太郎=やまだ^たろう");
  const auto korean = ReadInstanceHeader(kCharsetFiles / "chrI2.dcm");
  REQUIRE(korean.ok);
  CHECK(korean.attributes.patient_name == "Hong^Gildong=洪^吉洞=홍^길동");
}

TEST_CASE("invalid UTF-8 bytes are replaced, valid sequences kept") {
  using hokan::dicom::ToValidUtf8;
  CHECK(ToValidUtf8("Yamada^Tarou") == "Yamada^Tarou");
  CHECK(ToValidUtf8("山田^太郎") == "山田^太郎");
  CHECK(ToValidUtf8("a\xd4\xcf" "b") == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  CHECK(ToValidUtf8("\xe5\xb1") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // cut-off sequence
  CHECK(ToValidUtf8("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  CHECK(ToValidUtf8(std::string("a\0b", 3)) == "a\xEF\xBF\xBD" "b");  // PostgreSQL text has no NUL
}

TEST_CASE("a file that is not DICOM is reported, not thrown") {
  const auto path = std::filesystem::temp_directory_path() / "hokan_not_dicom.txt";
  std::ofstream(path) << "this is not a DICOM file";
  const auto result = ReadInstanceHeader(path);
  CHECK_FALSE(result.ok);
  CHECK_FALSE(result.error.empty());
  std::filesystem::remove(path);
}

TEST_CASE("a data set cut short inside its pixel data is reported") {
  const auto path = std::filesystem::temp_directory_path() / "hokan_truncated.dcm";
  {
    std::ifstream source(kTestFiles / "CT_small.dcm", std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(source), {});
    std::ofstream(path, std::ios::binary) << bytes.substr(0, 30000);
  }
  const auto result = ReadInstanceHeader(path);
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.error, Catch::Contains("premature end"));
  std::filesystem::remove(path);
}
