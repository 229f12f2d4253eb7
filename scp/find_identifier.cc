#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/find_identifier.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <fmt/format.h>

#include "scp/character_set.h"

namespace hokan::scp {
namespace {

constexpr std::size_t kMaxValueLength = 64 * 1024;

std::uint32_t TagNumber(const DcmTagKey& key) {
  return (static_cast<std::uint32_t>(key.getGroup()) << 16) | key.getElement();
}

DcmTagKey TagKey(std::uint32_t number) {
  return DcmTagKey(static_cast<Uint16>(number >> 16), static_cast<Uint16>(number & 0xFFFF));
}

std::string Describe(const DcmTagKey& key) {
  DcmTag tag(key);
  return fmt::format("{} {}", tag.getTagName(), key.toString().c_str());
}

bool IsPersonName(const DcmTagKey& key) { return DcmTag(key).getEVR() == EVR_PN; }

DcmTagKey UniqueKeyOf(archive::QueryLevel level) {
  switch (level) {
    case archive::QueryLevel::kPatient: return DCM_PatientID;
    case archive::QueryLevel::kStudy: return DCM_StudyInstanceUID;
    case archive::QueryLevel::kSeries: return DCM_SeriesInstanceUID;
    case archive::QueryLevel::kImage: return DCM_SOPInstanceUID;
  }
  return DCM_SOPInstanceUID;
}

std::string Trim(std::string text) {
  const auto last = text.find_last_not_of(' ');
  text.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = text.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : text.substr(first);
}

}  // namespace

std::optional<archive::InformationModel> InformationModelOf(const std::string& sop_class_uid) {
  for (const char* uid : {UID_FINDPatientRootQueryRetrieveInformationModel,
                          UID_MOVEPatientRootQueryRetrieveInformationModel,
                          UID_GETPatientRootQueryRetrieveInformationModel}) {
    if (sop_class_uid == uid) return archive::InformationModel::kPatientRoot;
  }
  for (const char* uid : {UID_FINDStudyRootQueryRetrieveInformationModel,
                          UID_MOVEStudyRootQueryRetrieveInformationModel,
                          UID_GETStudyRootQueryRetrieveInformationModel}) {
    if (sop_class_uid == uid) return archive::InformationModel::kStudyRoot;
  }
  return std::nullopt;
}

const char* LevelName(archive::QueryLevel level) {
  switch (level) {
    case archive::QueryLevel::kPatient: return "PATIENT";
    case archive::QueryLevel::kStudy: return "STUDY";
    case archive::QueryLevel::kSeries: return "SERIES";
    case archive::QueryLevel::kImage: return "IMAGE";
  }
  return "IMAGE";
}

FindIdentifierResult ParseFindIdentifier(DcmDataset& identifier,
                                         archive::InformationModel model,
                                         const std::vector<std::int64_t>& facility_ids) {
  FindIdentifierResult result;
  FindIdentifier& parsed = result.identifier;
  parsed.request.model = model;
  parsed.request.facility_ids = facility_ids;

  OFString character_set;
  if (identifier.findAndGetOFStringArray(DCM_SpecificCharacterSet, character_set).good()) {
    parsed.character_set = character_set.c_str();
  }

  OFString level_text;
  if (identifier.findAndGetOFString(DCM_QueryRetrieveLevel, level_text).bad()) {
    result.error = "QueryRetrieveLevel (0008,0052) is missing";
    return result;
  }
  const std::string level = Trim(level_text.c_str());
  if (level == "PATIENT") parsed.request.level = archive::QueryLevel::kPatient;
  else if (level == "STUDY") parsed.request.level = archive::QueryLevel::kStudy;
  else if (level == "SERIES") parsed.request.level = archive::QueryLevel::kSeries;
  else if (level == "IMAGE") parsed.request.level = archive::QueryLevel::kImage;
  else {
    result.error = fmt::format("QueryRetrieveLevel (0008,0052) '{}' is not PATIENT, STUDY, "
                               "SERIES or IMAGE", level.substr(0, 16));
    return result;
  }

  bool has_unique_key = false;
  const DcmTagKey unique_key = UniqueKeyOf(parsed.request.level);
  for (unsigned long i = 0; i < identifier.card(); ++i) {
    DcmElement* element = identifier.getElement(i);
    const DcmTagKey key = element->getTag();
    if (key == DCM_SpecificCharacterSet || key == DCM_QueryRetrieveLevel ||
        key.getElement() == 0x0000) {
      continue;
    }
    if (key == unique_key) has_unique_key = true;
    archive::QueryKey query_key;
    query_key.tag = TagNumber(key);
    if (element->ident() != EVR_SQ) {
      OFString raw;
      element->getOFStringArray(raw);
      if (raw.length() > kMaxValueLength) {
        result.error = fmt::format("{}: value longer than {} bytes", Describe(key),
                                   kMaxValueLength);
        return result;
      }
      const auto utf8 = DecodeToUtf8(std::string_view(raw.c_str(), raw.length()),
                                     parsed.character_set, IsPersonName(key));
      if (!utf8) {
        result.error = fmt::format("{}: value is not valid in Specific Character Set '{}'",
                                   Describe(key), parsed.character_set);
        return result;
      }
      query_key.value = Trim(*utf8);
    }
    parsed.request.keys.push_back(std::move(query_key));
  }
  if (!has_unique_key) parsed.request.keys.push_back({TagNumber(unique_key), {}});
  // Looked up once here, not once per match: the dictionary takes a lock.
  for (const auto& key : parsed.request.keys) {
    parsed.key_vrs.push_back(DcmTag(TagKey(key.tag)).getEVR());
  }
  result.ok = true;
  return result;
}

std::unique_ptr<DcmDataset> BuildFindResponse(const FindIdentifier& identifier,
                                              const archive::FindMatch& match) {
  // Encode every value in the query's character set, or all in UTF-8.
  std::vector<std::string> encoded(identifier.request.keys.size());
  std::string response_character_set = identifier.character_set;
  for (std::size_t i = 0; i < identifier.request.keys.size(); ++i) {
    const auto& value = match.values[i];
    if (!value || value->empty()) continue;
    const auto bytes = EncodeFromUtf8(*value, identifier.character_set,
                                      identifier.key_vrs[i] == EVR_PN);
    if (!bytes) {
      response_character_set = "ISO_IR 192";
      break;
    }
    encoded[i] = *bytes;
  }
  const bool utf8 = response_character_set == "ISO_IR 192" &&
                    identifier.character_set != "ISO_IR 192";

  auto response = std::make_unique<DcmDataset>();
  if (!response_character_set.empty()) {
    response->putAndInsertString(DCM_SpecificCharacterSet, response_character_set.c_str());
  }
  response->putAndInsertString(DCM_QueryRetrieveLevel, LevelName(identifier.request.level));
  for (std::size_t i = 0; i < identifier.request.keys.size(); ++i) {
    const DcmTagKey key = TagKey(identifier.request.keys[i].tag);
    if (identifier.key_vrs[i] == EVR_SQ) {
      response->insert(new DcmSequenceOfItems(DcmTag(key, EVR_SQ)), /*replaceOld=*/true);
      continue;
    }
    const auto& value = match.values[i];
    const std::string text = !value ? std::string() : utf8 ? *value : encoded[i];
    response->putAndInsertOFStringArray(DcmTag(key, identifier.key_vrs[i]),
                                        OFString(text.data(), text.size()));
  }
  return response;
}

}  // namespace hokan::scp
