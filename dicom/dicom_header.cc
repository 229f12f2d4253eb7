#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/dicom_header.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dctag.h"

#include <fmt/format.h>

#include "archive/model/query_attributes.h"
#include "dicom/character_set.h"

namespace hokan::dicom {
namespace {

std::string RawText(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  if (item.findAndGetOFStringArray(tag, value).bad()) return {};
  return std::string(value.c_str(), value.length());
}

// Reads text attributes of one data set as UTF-8, decoded from its Specific
// Character Set; a value that does not decode is kept with its invalid
// bytes replaced, and a warning remembered.
class TextReader {
 public:
  TextReader(DcmItem& item, std::string character_set)
      : item_(item), character_set_(std::move(character_set)) {}

  std::string operator()(const DcmTagKey& tag) {
    const std::string raw = RawText(item_, tag);
    if (raw.empty()) return raw;
    const bool person_name = DcmTag(tag).getEVR() == EVR_PN;
    if (auto utf8 = DecodeToUtf8(raw, character_set_, person_name)) return *utf8;
    if (warning_.empty()) {
      warning_ = fmt::format("{} is not valid in Specific Character Set '{}'; indexed with "
                             "U+FFFD for the bytes that are not UTF-8",
                             DcmTag(tag).getTagName(), character_set_);
    }
    return ToValidUtf8(raw);
  }

  const std::string& warning() const { return warning_; }

 private:
  DcmItem& item_;
  std::string character_set_;
  std::string warning_;
};

// The items of the indexed sequence `tag` with the item attributes the
// index keeps (archive::SequenceItemAttributes), as UTF-8 text.
std::vector<archive::AttributeItem> SequenceItems(DcmItem& data_set, std::uint32_t tag,
                                                  const std::string& character_set,
                                                  std::string& warning) {
  std::vector<archive::AttributeItem> items;
  DcmSequenceOfItems* sequence = nullptr;
  const DcmTagKey key(static_cast<Uint16>(tag >> 16), static_cast<Uint16>(tag & 0xFFFF));
  if (data_set.findAndGetSequence(key, sequence).bad() || sequence == nullptr) return items;
  const std::vector<archive::QueryAttribute> attributes = archive::SequenceItemAttributes(tag);
  for (unsigned long i = 0; i < sequence->card(); ++i) {
    DcmItem* item = sequence->getItem(i);
    TextReader text(*item, character_set);
    archive::AttributeItem values;
    for (const archive::QueryAttribute& attribute : attributes) {
      const DcmTagKey item_key(static_cast<Uint16>(attribute.tag >> 16),
                               static_cast<Uint16>(attribute.tag & 0xFFFF));
      if (!item->tagExists(item_key)) continue;
      values.emplace_back(attribute.name, text(item_key));
    }
    if (warning.empty()) warning = text.warning();
    items.push_back(std::move(values));
  }
  return items;
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
  a.transfer_syntax_uid = RawText(meta, DCM_TransferSyntaxUID);
  a.specific_character_set = RawText(data_set, DCM_SpecificCharacterSet);
  TextReader text(data_set, a.specific_character_set);
  a.patient_id = text(DCM_PatientID);
  a.issuer_of_patient_id = text(DCM_IssuerOfPatientID);
  a.patient_name = text(DCM_PatientName);
  a.patient_birth_date = text(DCM_PatientBirthDate);
  a.patient_sex = text(DCM_PatientSex);
  a.study_instance_uid = RawText(data_set, DCM_StudyInstanceUID);
  a.study_date = text(DCM_StudyDate);
  a.study_time = text(DCM_StudyTime);
  a.accession_number = text(DCM_AccessionNumber);
  a.study_id = text(DCM_StudyID);
  a.study_description = text(DCM_StudyDescription);
  a.referring_physician_name = text(DCM_ReferringPhysicianName);
  a.series_instance_uid = RawText(data_set, DCM_SeriesInstanceUID);
  a.modality = text(DCM_Modality);
  a.series_number = text(DCM_SeriesNumber);
  a.series_description = text(DCM_SeriesDescription);
  a.body_part_examined = text(DCM_BodyPartExamined);
  a.sop_instance_uid = RawText(data_set, DCM_SOPInstanceUID);
  a.sop_class_uid = RawText(data_set, DCM_SOPClassUID);
  a.instance_number = text(DCM_InstanceNumber);
  a.number_of_frames = Number(data_set, DCM_NumberOfFrames);
  a.rows = UnsignedShort(data_set, DCM_Rows);
  a.columns = UnsignedShort(data_set, DCM_Columns);
  result.character_set_warning = text.warning();
  a.other_patient_ids = SequenceItems(data_set, 0x00101002, a.specific_character_set,
                                      result.character_set_warning);
  a.procedure_codes = SequenceItems(data_set, 0x00081032, a.specific_character_set,
                                    result.character_set_warning);
  a.request_attributes = SequenceItems(data_set, 0x00400275, a.specific_character_set,
                                       result.character_set_warning);
  result.ok = true;
  return result;
}

}  // namespace hokan::dicom
