#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/find_identifier.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <fmt/format.h>

#include "archive/model/query_attributes.h"
#include "dicom/character_set.h"

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

// Reads one non-sequence element's value into `key` (UTF-8, trimmed).
// Returns an error message naming the element, or "".
std::string ReadKeyValue(DcmElement& element, const std::string& character_set,
                         archive::QueryKey& key) {
  const DcmTagKey tag = element.getTag();
  OFString raw;
  element.getOFStringArray(raw);
  if (raw.length() > kMaxValueLength) {
    return fmt::format("{}: value longer than {} bytes", Describe(tag), kMaxValueLength);
  }
  const auto utf8 = dicom::DecodeToUtf8(std::string_view(raw.c_str(), raw.length()), character_set,
                                 IsPersonName(tag));
  if (!utf8) {
    return fmt::format("{}: value is not valid in Specific Character Set '{}'", Describe(tag),
                       character_set);
  }
  key.value = Trim(*utf8);
  return {};
}

// Reads a sequence element's single item into `key`. Returns an error
// message naming the element, or "".
std::string ReadSequenceKey(DcmElement& element, const std::string& character_set,
                            archive::QueryKey& key) {
  key.sequence = true;
  auto& sequence = static_cast<DcmSequenceOfItems&>(element);
  if (sequence.card() > 1) {
    return fmt::format("{}: sequence matching takes one item, {} were sent",
                       Describe(element.getTag()), sequence.card());
  }
  DcmItem* item = sequence.card() == 1 ? sequence.getItem(0) : nullptr;
  for (unsigned long i = 0; item != nullptr && i < item->card(); ++i) {
    DcmElement* sub_element = item->getElement(i);
    if (sub_element->getTag().getElement() == 0x0000) continue;
    archive::QueryKey sub_key;
    sub_key.tag = TagNumber(sub_element->getTag());
    if (sub_element->ident() == EVR_SQ) {
      sub_key.sequence = true;  // nested: returned empty
    } else if (std::string error = ReadKeyValue(*sub_element, character_set, sub_key);
               !error.empty()) {
      return fmt::format("{} in {}", error, Describe(element.getTag()));
    }
    key.item.push_back(std::move(sub_key));
  }
  if (key.item.empty()) {
    for (const auto& attribute : archive::SequenceItemAttributes(key.tag)) {
      key.item.emplace_back(attribute.tag);
    }
  }
  return {};
}

bool IsPrintableAscii(const std::string& text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// Whether `character_set` writes every printable ASCII character as it is
// (with and without person-name delimiters): converting all of them once
// says so for any value made of them, as no escape sequence is needed.
bool WritesAsciiAsIs(const std::string& character_set) {
  static const std::string printable = [] {
    std::string text;
    for (char c = 0x20; c < 0x7F; ++c) text += c;
    return text;
  }();
  return dicom::EncodeFromUtf8(printable, character_set, true) == printable &&
         dicom::EncodeFromUtf8(printable, character_set, false) == printable;
}

// `value` encoded for the response (empty for none); false when the
// response's character set cannot express it.
bool EncodeValue(const std::optional<std::string>& value, DcmEVR vr,
                 const FindIdentifier& identifier, bool utf8, std::string& text) {
  text.clear();
  if (!value || value->empty()) return true;
  if (utf8 || (identifier.ascii_as_is && IsPrintableAscii(*value))) {
    text = *value;
    return true;
  }
  auto bytes = dicom::EncodeFromUtf8(*value, identifier.character_set, vr == EVR_PN);
  if (!bytes) return false;
  text = std::move(*bytes);
  return true;
}

// Adds `value` as `tag` to `item`, encoded for the response; false when
// the response's character set cannot express it.
bool PutValue(DcmItem& item, const DcmTagKey& tag, DcmEVR vr,
              const std::optional<std::string>& value, const FindIdentifier& identifier,
              bool utf8) {
  std::string text;
  if (!EncodeValue(value, vr, identifier, utf8, text)) return false;
  if (vr == EVR_SQ) {
    item.insert(new DcmSequenceOfItems(DcmTag(tag, EVR_SQ)), /*replaceOld=*/true);
    return true;
  }
  item.putAndInsertOFStringArray(DcmTag(tag, vr), OFString(text.data(), text.size()));
  return true;
}

// The response data set in the query's character set (utf8 = false) or in
// ISO_IR 192; nullptr when the query's character set cannot express a value.
std::unique_ptr<DcmDataset> BuildResponse(const FindIdentifier& identifier,
                                          const archive::FindMatch& match, bool utf8) {
  const auto& keys = identifier.request.keys;
  auto response = std::make_unique<DcmDataset>();
  const std::string character_set = utf8 ? "ISO_IR 192" : identifier.character_set;
  if (!character_set.empty()) {
    response->putAndInsertString(DCM_SpecificCharacterSet, character_set.c_str());
  }
  response->putAndInsertString(DCM_QueryRetrieveLevel, LevelName(identifier.request.level));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const DcmTagKey key = TagKey(keys[i].tag);
    if (identifier.key_vrs[i] != EVR_SQ) {
      if (!PutValue(*response, key, identifier.key_vrs[i], match.values[i], identifier, utf8)) {
        return nullptr;
      }
      continue;
    }
    auto* sequence = new DcmSequenceOfItems(DcmTag(key, EVR_SQ));
    response->insert(sequence, /*replaceOld=*/true);
    if (i >= match.sequences.size()) continue;
    for (const auto& stored_item : match.sequences[i]) {
      auto* item = new DcmItem();
      sequence->append(item);
      for (std::size_t j = 0; j < keys[i].item.size(); ++j) {
        const std::optional<std::string> value =
            j < stored_item.size() ? stored_item[j] : std::nullopt;
        if (!PutValue(*item, TagKey(keys[i].item[j].tag), identifier.item_vrs[i][j], value,
                      identifier, utf8)) {
          return nullptr;
        }
      }
    }
  }
  return response;
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

IdentifierLimits IdentifierLimitsOf(const archive::ArchiveConfig& config) {
  return {static_cast<std::size_t>(config.limits.max_identifier_keys),
          static_cast<std::size_t>(config.limits.max_identifier_bytes)};
}

namespace {

// The elements of `item`, counting those in the items of its sequences;
// stops counting past `limit`.
std::size_t CountElements(DcmItem& item, std::size_t limit) {
  std::size_t count = 0;
  for (unsigned long i = 0; i < item.card() && count <= limit; ++i) {
    DcmElement* element = item.getElement(i);
    ++count;
    if (element->ident() != EVR_SQ) continue;
    auto& sequence = static_cast<DcmSequenceOfItems&>(*element);
    for (unsigned long n = 0; n < sequence.card() && count <= limit; ++n) {
      count += CountElements(*sequence.getItem(n), limit - count);
    }
  }
  return count;
}

// The limit `identifier` exceeds, as an Error Comment (under 64
// characters); empty when within them.
std::string OverLimits(DcmDataset& identifier, const IdentifierLimits& limits) {
  const std::size_t keys = CountElements(identifier, limits.max_keys);
  if (keys > limits.max_keys) {
    return "over " + std::to_string(limits.max_keys) + " keys (archive.max_identifier_keys)";
  }
  const std::size_t bytes = identifier.getLength(EXS_LittleEndianExplicit);
  if (bytes > limits.max_bytes) {
    return "over " + std::to_string(limits.max_bytes) + " bytes (archive.max_identifier_bytes)";
  }
  return {};
}

}  // namespace

FindIdentifierResult ParseFindIdentifier(DcmDataset& identifier,
                                         archive::InformationModel model,
                                         const std::vector<std::int64_t>& facility_ids,
                                         const IdentifierLimits& limits) {
  FindIdentifierResult result;
  result.error = OverLimits(identifier, limits);
  if (!result.error.empty()) {
    result.too_large = true;
    return result;
  }
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
    const std::string error =
        element->ident() == EVR_SQ
            ? ReadSequenceKey(*element, parsed.character_set, query_key)
            : ReadKeyValue(*element, parsed.character_set, query_key);
    if (!error.empty()) {
      result.error = error;
      return result;
    }
    parsed.request.keys.push_back(std::move(query_key));
  }
  if (!has_unique_key) parsed.request.keys.push_back({TagNumber(unique_key), {}});
  parsed.ascii_as_is = WritesAsciiAsIs(parsed.character_set);
  // Looked up once here, not once per match: the dictionary takes a lock.
  for (const auto& key : parsed.request.keys) {
    parsed.key_vrs.push_back(DcmTag(TagKey(key.tag)).getEVR());
    std::vector<DcmEVR> item_vrs;
    for (const auto& sub_key : key.item) {
      item_vrs.push_back(sub_key.sequence ? EVR_SQ : DcmTag(TagKey(sub_key.tag)).getEVR());
    }
    parsed.item_vrs.push_back(std::move(item_vrs));
  }
  result.ok = true;
  return result;
}

std::unique_ptr<DcmDataset> BuildFindResponse(const FindIdentifier& identifier,
                                              const archive::FindMatch& match) {
  // Every value in the query's character set, or all of them in UTF-8.
  const bool query_is_utf8 = identifier.character_set == "ISO_IR 192";
  if (auto response = BuildResponse(identifier, match, query_is_utf8)) return response;
  return BuildResponse(identifier, match, /*utf8=*/true);
}

FindResponseBuilder::FindResponseBuilder(const FindIdentifier& identifier)
    : identifier_(identifier), query_is_utf8_(identifier.character_set == "ISO_IR 192") {
  for (const DcmEVR vr : identifier.key_vrs) {
    if (vr == EVR_SQ) return;  // items vary per match: built afresh each time
  }
  // Built once with every value empty (which any character set expresses).
  reused_ = BuildResponse(identifier, archive::FindMatch{
      std::vector<std::optional<std::string>>(identifier.key_vrs.size()), {}}, query_is_utf8_);
  if (reused_ == nullptr) return;
  for (const auto& key : identifier.request.keys) {
    DcmElement* element = nullptr;
    if (reused_->findAndGetElement(TagKey(key.tag), element).bad() || element == nullptr) {
      reused_.reset();  // a key DCMTK could not make an element of
      elements_.clear();
      return;
    }
    elements_.push_back(element);
  }
  texts_.resize(elements_.size());
}

FindResponseBuilder::~FindResponseBuilder() = default;

DcmDataset& FindResponseBuilder::For(const archive::FindMatch& match) {
  if (reused_ != nullptr) {
    bool expressible = true;
    for (std::size_t i = 0; i < elements_.size() && expressible; ++i) {
      expressible = EncodeValue(match.values[i], identifier_.key_vrs[i], identifier_,
                                query_is_utf8_, texts_[i]);
    }
    if (expressible) {
      for (std::size_t i = 0; i < elements_.size(); ++i) {
        elements_[i]->putOFStringArray(OFString(texts_[i].data(), texts_[i].size()));
      }
      return *reused_;
    }
  }
  built_ = BuildFindResponse(identifier_, match);
  return *built_;
}

}  // namespace hokan::scp
