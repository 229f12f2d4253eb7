#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/dicom_header.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"

#include <fmt/format.h>

namespace hokan::scp {
namespace {

std::string Text(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  if (item.findAndGetOFStringArray(tag, value).bad()) return {};
  return ToValidUtf8(std::string(value.c_str(), value.length()));
}

// Length of the well-formed UTF-8 sequence at text[i], or 0 if there is none.
std::size_t Utf8SequenceLength(const std::string& text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead == 0xE0) { length = 3; low = 0xA0; }
  else if (lead >= 0xE1 && lead <= 0xEC) length = 3;
  else if (lead == 0xED) { length = 3; high = 0x9F; }
  else if (lead >= 0xEE && lead <= 0xEF) length = 3;
  else if (lead == 0xF0) { length = 4; low = 0x90; }
  else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
  else if (lead == 0xF4) { length = 4; high = 0x8F; }
  else return 0;
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

int Number(DcmItem& item, const DcmTagKey& tag) {
  Sint32 value = -1;
  if (item.findAndGetSint32(tag, value).bad() || value < 0) return -1;
  return static_cast<int>(value);
}

int UnsignedShort(DcmItem& item, const DcmTagKey& tag) {
  Uint16 value = 0;
  if (item.findAndGetUint16(tag, value).bad()) return -1;
  return value;
}

}  // namespace

std::string ToValidUtf8(const std::string& text) {
  std::string valid;
  valid.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0 || (length == 1 && text[i] == '\0')) {
      valid += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      valid.append(text, i, length);
      i += length;
    }
  }
  return valid;
}

HeaderReadResult ReadInstanceHeader(const std::filesystem::path& file) {
  HeaderReadResult result;
  DcmFileFormat file_format;
  // The whole structure is parsed, so a truncated data set is caught, but
  // values longer than this stay on disk: pixel data is never read.
  constexpr Uint32 kLargestValueLoaded = 4096;
  const OFCondition loaded = file_format.loadFile(file.c_str(), EXS_Unknown, EGL_noChange,
                                                  kLargestValueLoaded, ERM_fileOnly);
  if (loaded.bad()) {
    result.error = fmt::format("data set cannot be read: {}", loaded.text());
    return result;
  }
  DcmDataset& data_set = *file_format.getDataset();
  DcmMetaInfo& meta = *file_format.getMetaInfo();

  archive::InstanceAttributes& a = result.attributes;
  a.transfer_syntax_uid = Text(meta, DCM_TransferSyntaxUID);
  a.specific_character_set = Text(data_set, DCM_SpecificCharacterSet);
  if (!a.specific_character_set.empty()) {
    const OFCondition converted = data_set.convertToUTF8();
    if (converted.bad()) {
      result.character_set_warning =
          fmt::format("cannot convert Specific Character Set '{}' to UTF-8 ({}); indexed "
                      "text keeps its ASCII and UTF-8 parts, other bytes become U+FFFD",
                      a.specific_character_set, converted.text());
    }
  }

  a.patient_id = Text(data_set, DCM_PatientID);
  a.issuer_of_patient_id = Text(data_set, DCM_IssuerOfPatientID);
  a.patient_name = Text(data_set, DCM_PatientName);
  a.patient_birth_date = Text(data_set, DCM_PatientBirthDate);
  a.patient_sex = Text(data_set, DCM_PatientSex);
  a.study_instance_uid = Text(data_set, DCM_StudyInstanceUID);
  a.study_date = Text(data_set, DCM_StudyDate);
  a.study_time = Text(data_set, DCM_StudyTime);
  a.accession_number = Text(data_set, DCM_AccessionNumber);
  a.study_id = Text(data_set, DCM_StudyID);
  a.study_description = Text(data_set, DCM_StudyDescription);
  a.referring_physician_name = Text(data_set, DCM_ReferringPhysicianName);
  a.series_instance_uid = Text(data_set, DCM_SeriesInstanceUID);
  a.modality = Text(data_set, DCM_Modality);
  a.series_number = Text(data_set, DCM_SeriesNumber);
  a.series_description = Text(data_set, DCM_SeriesDescription);
  a.body_part_examined = Text(data_set, DCM_BodyPartExamined);
  a.sop_instance_uid = Text(data_set, DCM_SOPInstanceUID);
  a.sop_class_uid = Text(data_set, DCM_SOPClassUID);
  a.instance_number = Text(data_set, DCM_InstanceNumber);
  a.number_of_frames = Number(data_set, DCM_NumberOfFrames);
  a.rows = UnsignedShort(data_set, DCM_Rows);
  a.columns = UnsignedShort(data_set, DCM_Columns);
  result.ok = true;
  return result;
}

}  // namespace hokan::scp
