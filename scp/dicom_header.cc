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
  return std::string(value.c_str(), value.length());
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
          fmt::format("text kept as received: cannot convert Specific Character Set '{}' "
                      "to UTF-8: {}", a.specific_character_set, converted.text());
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
