#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dicom/character_set.h"
#include "dicom/dicom_header.h"

using hokan::dicom::DecodeToUtf8;
using hokan::dicom::EncodeFromUtf8;

namespace {

const std::filesystem::path kCharsetFiles = HOKAN_PYDICOM_DATA "/charset_files";

// A text value's bytes as stored (never converted) and the character set
// that applies to it.
struct RawValue {
  std::string bytes;
  std::string character_set;
};

std::string Get(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  item.findAndGetOFStringArray(tag, value);
  return std::string(value.c_str(), value.length());
}

// The value of `tag` in `file`, or in the first item of `sequence` if given
// (with the item's own Specific Character Set, else the data set's).
RawValue ReadRaw(const std::string& file, const DcmTagKey& tag,
                 const DcmTagKey* sequence = nullptr) {
  DcmFileFormat file_format;
  const OFCondition loaded = file_format.loadFile((kCharsetFiles / file).c_str());
  INFO(file << ": " << loaded.text());
  REQUIRE(loaded.good());
  DcmItem* item = file_format.getDataset();
  RawValue raw{"", Get(*item, DCM_SpecificCharacterSet)};
  if (sequence != nullptr) {
    DcmItem* sequence_item = nullptr;
    REQUIRE(item->findAndGetSequenceItem(*sequence, sequence_item, 0).good());
    item = sequence_item;
    if (item->tagExists(DCM_SpecificCharacterSet)) {
      raw.character_set = Get(*item, DCM_SpecificCharacterSet);
    }
  }
  REQUIRE(item->tagExists(tag));
  raw.bytes = Get(*item, tag);
  return raw;
}

bool IsWellFormedUtf8(const std::string& text) {
  return hokan::dicom::ToValidUtf8(text) == text;
}

struct FileValue {
  const char* file;
  DcmTagKey tag;
  bool is_person_name;
  const char* expected;
};

const DcmTagKey kOtherPatientNames(0x0010, 0x1001);
const DcmTagKey kAdditionalPatientHistory(0x0010, 0x21B0);  // LT
const DcmTagKey kOperatorsName(0x0008, 0x1070);

// Expected values from pydicom's test_charset.py (FILE_PATIENT_NAMES). For
// chrX1 and chrX2 the stored bytes end in an empty component group '=' that
// pydicom's PersonName drops; DecodeToUtf8 converts the bytes as they are.
const std::vector<FileValue> kFileValues = {
    {"chrArab.dcm", DCM_PatientName, true, "قباني^لنزار"},
    {"chrFren.dcm", DCM_PatientName, true, "Buc^Jérôme"},
    {"chrFrenMulti.dcm", DCM_PatientName, true, "Buc^Jérôme"},
    {"chrFrenMulti.dcm", kOtherPatientNames, true, "Buc^Jérôme\\Buc^Jérôme"},
    {"chrGerm.dcm", DCM_PatientName, true, "Äneas^Rüdiger"},
    {"chrGreek.dcm", DCM_PatientName, true, "Διονυσιος"},
    {"chrH31.dcm", DCM_PatientName, true, "Yamada^Tarou=山田^太郎=やまだ^たろう"},
    {"chrH32.dcm", DCM_PatientName, true, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"},
    {"chrHbrw.dcm", DCM_PatientName, true, "שרון^דבורה"},
    {"chrI2.dcm", DCM_PatientName, true, "Hong^Gildong=洪^吉洞=홍^길동"},
    {"chrJapMulti.dcm", DCM_PatientName, true, "やまだ^たろう"},
    {"chrJapMulti.dcm", kOtherPatientNames, true, "やまだ^たろう\\やまだ^たろう"},
    {"chrJapMulti.dcm", kAdditionalPatientHistory, false, "たろう"},
    {"chrJapMultiExplicitIR6.dcm", DCM_PatientName, true, "やまだ^たろう"},
    {"chrJapMultiExplicitIR6.dcm", kOtherPatientNames, true, "やまだ^たろう\\やまだ^たろう"},
    {"chrJapMultiExplicitIR6.dcm", kAdditionalPatientHistory, false, "たろう"},
    {"chrKoreanMulti.dcm", DCM_PatientName, true, "김희중"},
    {"chrKoreanMulti.dcm", kOtherPatientNames, true, "김희중\\김희중"},
    {"chrKoreanMulti.dcm", kOperatorsName, true, "김희중"},
    {"chrKoreanMulti.dcm", kAdditionalPatientHistory, false, "김희중"},
    {"chrRuss.dcm", DCM_PatientName, true, "Люкceмбypг"},
    {"chrX1.dcm", DCM_PatientName, true, "Wang^XiaoDong=王^小東="},
    {"chrX2.dcm", DCM_PatientName, true, "Wang^XiaoDong=王^小东="},
};

}  // namespace

TEST_CASE("text in pydicom's charset files decodes to the names pydicom reads") {
  for (const FileValue& v : kFileValues) {
    const RawValue raw = ReadRaw(v.file, v.tag);
    INFO(v.file << " " << v.tag.toString().c_str() << " in '" << raw.character_set << "'");
    const auto decoded = DecodeToUtf8(raw.bytes, raw.character_set, v.is_person_name);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == v.expected);
    CHECK(IsWellFormedUtf8(*decoded));
  }
}

TEST_CASE("a sequence item is decoded in its own or its data set's character set") {
  // chrSQEncoding: ISO_IR 192 data set, item in ISO 2022 IR 13\ISO 2022 IR 87;
  // chrSQEncoding1: the Japanese set is the data set's only.
  const DcmTagKey sequence = DCM_RequestedProcedureCodeSequence;
  for (const char* file : {"chrSQEncoding.dcm", "chrSQEncoding1.dcm"}) {
    INFO(file);
    const RawValue raw = ReadRaw(file, DCM_PatientName, &sequence);
    CHECK(raw.character_set == "ISO 2022 IR 13\\ISO 2022 IR 87");
    const auto decoded = DecodeToUtf8(raw.bytes, raw.character_set, true);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう");
    // These files return to ESC ( B (ASCII, not among the terms); the encoder
    // returns to the first term's G0, JIS X 0201 romaji, as chrH32 does.
    CHECK(EncodeFromUtf8(*decoded, raw.character_set, true) ==
          ReadRaw("chrH32.dcm", DCM_PatientName).bytes);
  }
}

TEST_CASE("decoding then encoding gives back the files' bytes") {
  for (const FileValue& v : kFileValues) {
    if (std::string(v.file) == "chrKoreanMulti.dcm") continue;  // see below
    const RawValue raw = ReadRaw(v.file, v.tag);
    INFO(v.file << " " << v.tag.toString().c_str());
    const auto decoded = DecodeToUtf8(raw.bytes, raw.character_set, v.is_person_name);
    REQUIRE(decoded.has_value());
    CHECK(EncodeFromUtf8(*decoded, raw.character_set, v.is_person_name) == raw.bytes);
  }
}

TEST_CASE("chrKoreanMulti's redundant ESC ( B at the end of values is not reproduced") {
  // Its values end in ESC ( B although G0 never left ASCII; chrI2 (PS3.5
  // Annex I) has none. The encoder follows chrI2, as the text is the same.
  for (const DcmTagKey& tag : {DCM_PatientName, kAdditionalPatientHistory}) {
    const RawValue raw = ReadRaw("chrKoreanMulti.dcm", tag);
    const bool pn = tag == DCM_PatientName;
    const auto decoded = DecodeToUtf8(raw.bytes, raw.character_set, pn);
    REQUIRE(decoded.has_value());
    const auto encoded = EncodeFromUtf8(*decoded, raw.character_set, pn);
    CHECK(encoded == "\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf");
    CHECK(encoded.value() + "\x1b(B" == raw.bytes);
  }
}

TEST_CASE("single-byte code extensions decode (pydicom's ENCODED_NAMES)") {
  struct Case {
    const char* term;
    const char* text;
    std::string bytes;  // as pydicom writes them: an escape in each component
  };
  const std::vector<Case> cases = {
      {"ISO 2022 IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ", "\x1b)I\xd4\xcf\xc0\xde^\x1b)I\xc0\xdb\xb3"},
      {"ISO 2022 IR 100", "Buc^Jérôme", "\x1b-ABuc^\x1b-AJ\xe9r\xf4me"},
      {"ISO 2022 IR 101", "Wałęsa", "\x1b-BWa\xb3\xea" "sa"},
      {"ISO 2022 IR 109", "antaŭnomo", "\x1b-Canta\xfdnomo"},
      {"ISO 2022 IR 110", "vārds", "\x1b-Dv\xe0rds"},
      {"ISO 2022 IR 127", "قباني^لنزار", "\x1b-G\xe2\xc8\xc7\xe6\xea^\x1b-G\xe4\xe6\xd2\xc7\xd1"},
      {"ISO 2022 IR 126", "Διονυσιος", "\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"},
      {"ISO 2022 IR 138", "שרון^דבורה", "\x1b-H\xf9\xf8\xe5\xef^\x1b-H\xe3\xe1\xe5\xf8\xe4"},
      {"ISO 2022 IR 144", "Люкceмбypг", "\x1b-L\xbb\xee\xda" "ce\xdc\xd1yp\xd3"},
      {"ISO 2022 IR 148", "Çavuşoğlu", "\x1b-M\xc7" "avu\xfeo\xf0lu"},
      {"ISO 2022 IR 166", "นามสกุล", "\x1b-T\xb9\xd2\xc1\xca\xa1\xd8\xc5"},
  };
  for (const Case& c : cases) {
    const std::string set = std::string("\\") + c.term;
    INFO(set);
    CHECK(DecodeToUtf8("ASCII+" + c.bytes, set, true) == std::string("ASCII+") + c.text);
    const auto encoded = EncodeFromUtf8(std::string("ASCII+") + c.text, set, true);
    REQUIRE(encoded.has_value());
    CHECK(DecodeToUtf8(*encoded, set, true) == std::string("ASCII+") + c.text);
  }
  // The same sets without code extensions: no escape sequences.
  CHECK(EncodeFromUtf8("Buc^Jérôme", "ISO_IR 100", true) == "Buc^J\xe9r\xf4me");
  CHECK(EncodeFromUtf8("นามสกุล", "ISO_IR 166", false) == "\xb9\xd2\xc1\xca\xa1\xd8\xc5");
  CHECK(EncodeFromUtf8("ﾔﾏﾀﾞ^ﾀﾛｳ", "ISO_IR 13", true) == "\xd4\xcf\xc0\xde^\xc0\xdb\xb3");
  CHECK(DecodeToUtf8("\xd4\xcf\xc0\xde^\xc0\xdb\xb3", "ISO_IR 13", true) == "ﾔﾏﾀﾞ^ﾀﾛｳ");
  // Code extensions between single-byte sets, from pydicom's tests: each
  // value starts again with the first set's G1 (Latin-1).
  const std::string multi = "ISO 2022 IR 100\\ISO 2022 IR 144\\ISO 2022 IR 126";
  const std::string bytes =
      "Buc^J\xe9r\xf4me\\\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2\\"
      "\x1b-L\xbb\xee\xda" "ce\xdc\xd1yp\xd3";
  for (const bool pn : {true, false}) {
    CHECK(DecodeToUtf8(bytes, multi, pn) == "Buc^Jérôme\\Διονυσιος\\Люкceмбypг");
    CHECK(EncodeFromUtf8("Buc^Jérôme\\Διονυσιος\\Люкceмбypг", multi, pn) == bytes);
  }
  CHECK(DecodeToUtf8("Dionysios is \x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2",
                     "ISO 2022 IR 100\\ISO 2022 IR 126", false) == "Dionysios is Διονυσιος");
}

TEST_CASE("multi-byte code extensions encode as PS3.5 and pydicom expect") {
  // pydicom's test_japanese_multi_byte_personname: 鷗 is in JIS X 0212 only.
  const std::string mori =
      "Mori^Ogai=\x1b$B?9\x1b(B^\x1b$(Dl?\x1b$B30\x1b(B=\x1b$B$b$j\x1b(B^"
      "\x1b$B$*$&$,$$\x1b(B";
  const char* mori_set = "ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159";
  CHECK(EncodeFromUtf8("Mori^Ogai=森^鷗外=もり^おうがい", mori_set, true) == mori);
  CHECK(DecodeToUtf8(mori, mori_set, true) == "Mori^Ogai=森^鷗外=もり^おうがい");

  // pydicom's test_japanese_multi_byte_encoding writes a redundant ESC ) I:
  // katakana is already in G1 by the first term.
  const char* jis_set = "ISO 2022 IR 13\\ISO 2022 IR 87\\ISO 2022 IR 159";
  CHECK(DecodeToUtf8("\x1b$B$\"\x1b(Ja\x1b)I\xb1\x1b$B%\"\x1b$(DmN\x1b(J", jis_set, false) ==
        "あaｱア齩");
  CHECK(EncodeFromUtf8("あaｱア齩", jis_set, false) ==
        "\x1b$B$\"\x1b(Ja\xb1\x1b$B%\"\x1b$(DmN\x1b(J");

  // GB 2312 as a G1 code extension (IR 58) and as stand-alone GB18030.
  const std::string gb2312 = "Wang^XiaoDong=\x1b$)A\xcd\xf5^\x1b$)A\xd0\xa1\xb6\xab";
  CHECK(EncodeFromUtf8("Wang^XiaoDong=王^小东", "\\ISO 2022 IR 58", true) == gb2312);
  CHECK(DecodeToUtf8(gb2312, "\\ISO 2022 IR 58", true) == "Wang^XiaoDong=王^小东");
  // 乗 is 81 5C in GB18030 and GBK: its second byte is not a delimiter.
  for (const char* set : {"GB18030", "GBK"}) {
    INFO(set);
    CHECK(DecodeToUtf8("\x81\\a\\\x81\\", set, false) == "乗a\\乗");
    CHECK(EncodeFromUtf8("乗a\\乗", set, false) == "\x81\\a\\\x81\\");
  }
  CHECK(EncodeFromUtf8("Wang^XiaoDong=王^小东=", "GB18030", true) ==
        "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=");
  CHECK(EncodeFromUtf8("Wang^XiaoDong=王^小東", "ISO_IR 192", true) == "Wang^XiaoDong=王^小東");
}

TEST_CASE("delimiters reset the code state only where the value has them") {
  const char* korean = "\\ISO 2022 IR 149";
  // '^' delimits components in PN only; in LO, G1 stays KS X 1001.
  CHECK(DecodeToUtf8("\x1b$)C\xb1\xe8^\xc8\xf1", korean, false) == "김^희");
  CHECK(DecodeToUtf8("\x1b$)C\xb1\xe8^\xc8\xf1", korean, true) == std::nullopt);
  CHECK(EncodeFromUtf8("김^희", korean, false) == "\x1b$)C\xb1\xe8^\xc8\xf1");
  CHECK(EncodeFromUtf8("김^희", korean, true) == "\x1b$)C\xb1\xe8^\x1b$)C\xc8\xf1");
  // CR LF in text resets too.
  CHECK(DecodeToUtf8("\x1b$)C\xb1\xe8\r\n\xc8\xf1", korean, false) == std::nullopt);
  CHECK(DecodeToUtf8("\x1b$)C\xb1\xe8\r\n\x1b$)C\xc8\xf1", korean, false) == "김\r\n희");
  CHECK(EncodeFromUtf8("김\r\n희", korean, false) == "\x1b$)C\xb1\xe8\r\n\x1b$)C\xc8\xf1");
  // In a two-byte G0 set, 0x5C and 0x5E are halves of characters (JIS X
  // 0208 0x5E5C is 楹... within ESC $ B), not delimiters.
  const auto kanji = DecodeToUtf8("\x1b$B^\\\x1b(B", "\\ISO 2022 IR 87", true);
  REQUIRE(kanji.has_value());
  CHECK(EncodeFromUtf8(*kanji, "\\ISO 2022 IR 87", true) == "\x1b$B^\\\x1b(B");
}

TEST_CASE("invalid bytes and unknown character sets are not decoded") {
  struct Case {
    std::string bytes;
    const char* set;
    bool pn;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"J\xe9r\xf4me", "", true, "non-ASCII in the default repertoire"},
      {"J\xe9r\xf4me", "ISO_IR 6", true, "non-ASCII in ISO-IR 6"},
      {"Smith", "ISO_IR 999", true, "unknown term"},
      {"Smith", "ISO_IR 100\\ISO 2022 IR 999", true, "unknown second term"},
      {"Smith", "ISO_IR 192\\ISO 2022 IR 87", true, "stand-alone set in a list"},
      {"\xe5\xb1", "ISO_IR 192", true, "truncated UTF-8"},
      {"\xed\xa0\x80", "ISO_IR 192", true, "UTF-8 surrogate"},
      {"\xc0\xaf", "ISO_IR 192", true, "overlong UTF-8"},
      {"a\x1b(Bb", "ISO_IR 192", true, "escape in UTF-8"},
      {"\x80", "GB18030", true, "invalid GB18030"},
      {"\xcd", "GB18030", true, "truncated GB18030"},
      {std::string("a\0b", 3), "ISO_IR 100", true, "NUL"},
      {"a\x01" "b", "ISO_IR 100", true, "control character"},
      {"\x85", "ISO_IR 100", true, "C1 control"},
      {"\xa1", "ISO_IR 127", true, "unassigned in ISO 8859-6"},
      {"\xa0", "ISO_IR 166", true, "unassigned in TIS-620"},
      {"\x1b-AJ\xe9r\xf4me", "ISO_IR 100", true, "escape without code extensions"},
      {"\x1b$", "\\ISO 2022 IR 87", true, "truncated escape sequence"},
      {"\x1b$Z", "\\ISO 2022 IR 87", true, "unknown escape sequence"},
      {"\x1b$B;", "\\ISO 2022 IR 87", true, "half a JIS X 0208 character"},
      {"\x1b$B;\x7f", "\\ISO 2022 IR 87", true, "DEL in JIS X 0208"},
      {"\x1b$B\x2f\x21\x1b(B", "\\ISO 2022 IR 87", true, "unassigned JIS X 0208 row"},
      {"\x1b$B\xbb\xb3\x1b(B", "\\ISO 2022 IR 87", true, "JIS X 0208 in GR"},
      {"\x1b$)C\xb1", "\\ISO 2022 IR 149", true, "half a KS X 1001 character"},
      {"\x1b$)C\xb1" "A", "\\ISO 2022 IR 149", true, "KS X 1001 with a GL byte"},
      {"\xb1\xe8", "\\ISO 2022 IR 149", true, "KS X 1001 not designated"},
      {"\x1b)I\xe0", "\\ISO 2022 IR 13", true, "outside JIS X 0201 katakana"},
      // pydicom's test_missing_escape_for_single_byte_code_extensions: after
      // '^' G1 is empty again (pydicom falls back to Latin-1).
      {"ASCII+\x1b)I\xd4\xcf\xc0\xde^\xc0\xdb\xb3", "\\ISO 2022 IR 13", true, "missing escape"},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    CHECK(DecodeToUtf8(c.bytes, c.set, c.pn) == std::nullopt);
  }
}

TEST_CASE("text a character set lacks is not encoded in it") {
  struct Case {
    std::string text;
    const char* set;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"山田^太郎", "ISO_IR 100", "Japanese in Latin-1"},
      {"Jérôme", "", "Latin-1 in the default repertoire"},
      {"Διονυσιος", "ISO_IR 100", "Greek in Latin-1"},
      {"Διονυσιος", "ISO 2022 IR 100", "Greek not among the terms"},
      {"홍^길동", "\\ISO 2022 IR 87", "Hangul in JIS"},
      {"홍^길동", "GBK", "Hangul in GBK"},
      {"ﾔﾏﾀﾞ", "\\ISO 2022 IR 87", "half-width katakana without IR 13"},
      {"\xe5\xb1", "ISO_IR 192", "invalid UTF-8"},
      {"\xe5\xb1", "ISO_IR 100", "invalid UTF-8"},
      {"a\x1b(Bb", "\\ISO 2022 IR 87", "ESC in the text"},
      {"Smith", "ISO_IR 999", "unknown term"},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    CHECK(EncodeFromUtf8(c.text, c.set, true) == std::nullopt);
  }
}

TEST_CASE("every decoded value is well-formed UTF-8 and encodes back to itself") {
  // Deterministic pseudo-random byte strings built from the pieces the
  // decoder distinguishes, in every supported character set.
  const std::vector<std::string> sets = {
      "", "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 126",
      "ISO_IR 127", "ISO_IR 138", "ISO_IR 144", "ISO_IR 148", "ISO_IR 166", "ISO_IR 13",
      "ISO_IR 192", "GB18030", "GBK", "\\ISO 2022 IR 87", "ISO 2022 IR 13\\ISO 2022 IR 87",
      "ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159", "\\ISO 2022 IR 149",
      "\\ISO 2022 IR 58", "ISO 2022 IR 100\\ISO 2022 IR 126\\ISO 2022 IR 144",
      "ISO 2022 IR 101\\ISO 2022 IR 109\\ISO 2022 IR 110\\ISO 2022 IR 127\\ISO 2022 IR 138"
      "\\ISO 2022 IR 148\\ISO 2022 IR 166\\ISO 2022 IR 13",
  };
  const std::vector<std::string> pieces = {
      "\x1b(B", "\x1b(J", "\x1b)I", "\x1b$B", "\x1b$(D", "\x1b-A", "\x1b-F", "\x1b-L",
      "\x1b-T", "\x1b$)C", "\x1b$)A", "\x1b", "\x1b$", "\\", "^", "=", "\r\n", " ", "A"};
  std::mt19937 random(20240601);  // fixed seed: the same strings every run
  std::uniform_int_distribution<int> byte(0, 255), low(0x21, 0x7E), high(0xA1, 0xFE);
  std::uniform_int_distribution<int> kind(0, 5), piece(0, static_cast<int>(pieces.size()) - 1);
  std::uniform_int_distribution<int> length(0, 12);
  int decoded_count = 0, round_trips = 0;
  for (const std::string& set : sets) {
    for (int n = 0; n < 3000; ++n) {
      std::string bytes;
      for (int k = length(random); k > 0; --k) {
        switch (kind(random)) {
          case 0: bytes += static_cast<char>(byte(random)); break;
          case 1: bytes += pieces[piece(random)]; break;
          case 2: bytes += {static_cast<char>(low(random)), static_cast<char>(low(random))}; break;
          case 3: bytes += {static_cast<char>(high(random)), static_cast<char>(high(random))}; break;
          default: bytes += static_cast<char>(high(random)); break;
        }
      }
      const bool pn = n % 2 == 0;
      const auto decoded = DecodeToUtf8(bytes, set, pn);
      if (!decoded) continue;
      ++decoded_count;
      INFO("set '" << set << "' bytes " << ::Catch::Detail::stringify(bytes));
      REQUIRE(IsWellFormedUtf8(*decoded));
      REQUIRE(decoded->find('\0') == std::string::npos);
      const auto encoded = EncodeFromUtf8(*decoded, set, pn);
      if (!encoded) continue;  // e.g. a set designated without its term
      ++round_trips;
      REQUIRE(DecodeToUtf8(*encoded, set, pn) == decoded);
    }
  }
  CHECK(decoded_count > 5000);  // the strings do exercise the decoder
  CHECK(round_trips > 5000);
}

TEST_CASE("every character a set can encode decodes back to itself") {
  // All of the Basic Multilingual Plane, one character at a time: iconv
  // must not map a character to a look-alike (e.g. U+20A9 WON SIGN).
  const std::vector<std::string> sets = {
      "ISO 2022 IR 100\\ISO 2022 IR 101\\ISO 2022 IR 109\\ISO 2022 IR 110\\ISO 2022 IR 126"
      "\\ISO 2022 IR 127\\ISO 2022 IR 138\\ISO 2022 IR 144\\ISO 2022 IR 148\\ISO 2022 IR 166"
      "\\ISO 2022 IR 13\\ISO 2022 IR 87\\ISO 2022 IR 149\\ISO 2022 IR 58",
      "\\ISO 2022 IR 159", "\\ISO 2022 IR 149", "\\ISO 2022 IR 58", "GBK"};
  for (const std::string& set : sets) {
    int encodable = 0;
    for (char32_t cp = 0x20; cp <= 0xFFFF; ++cp) {
      if (cp == 0x7F || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
      std::string text;
      if (cp < 0x80) {
        text += static_cast<char>(cp);
      } else if (cp < 0x800) {
        text += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
      } else {
        text += {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                 static_cast<char>(0x80 | (cp & 0x3F))};
      }
      const auto encoded = EncodeFromUtf8(text, set, false);
      if (!encoded) continue;
      ++encodable;
      INFO("set '" << set << "' U+" << std::hex << static_cast<unsigned>(cp));
      REQUIRE(DecodeToUtf8(*encoded, set, false) == text);
    }
    INFO(set);
    CHECK(encodable > 6000);
  }
}
