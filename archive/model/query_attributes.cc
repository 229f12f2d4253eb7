#include "archive/model/query_attributes.h"

#include <iterator>

#include <fmt/format.h>

namespace hokan::archive {
namespace {

constexpr QueryAttribute kAttributes[] = {
    // Patient
    {0x00100010, "PatientName", QueryLevel::kPatient, MatchType::kPersonName},
    {0x00100020, "PatientID", QueryLevel::kPatient, MatchType::kString},
    {0x00100021, "IssuerOfPatientID", QueryLevel::kPatient, MatchType::kString},
    {0x00100030, "PatientBirthDate", QueryLevel::kPatient, MatchType::kDate},
    {0x00100040, "PatientSex", QueryLevel::kPatient, MatchType::kString},
    {0x00201200, "NumberOfPatientRelatedStudies", QueryLevel::kPatient, MatchType::kCount},
    {0x00201202, "NumberOfPatientRelatedSeries", QueryLevel::kPatient, MatchType::kCount},
    {0x00201204, "NumberOfPatientRelatedInstances", QueryLevel::kPatient, MatchType::kCount},
    {0x00101002, "OtherPatientIDsSequence", QueryLevel::kPatient, MatchType::kSequence},
    // Study
    {0x0020000D, "StudyInstanceUID", QueryLevel::kStudy, MatchType::kUid},
    {0x00080020, "StudyDate", QueryLevel::kStudy, MatchType::kDate},
    {0x00080030, "StudyTime", QueryLevel::kStudy, MatchType::kTime},
    {0x00080050, "AccessionNumber", QueryLevel::kStudy, MatchType::kString},
    {0x00200010, "StudyID", QueryLevel::kStudy, MatchType::kString},
    {0x00081030, "StudyDescription", QueryLevel::kStudy, MatchType::kString},
    {0x00080090, "ReferringPhysicianName", QueryLevel::kStudy, MatchType::kPersonName},
    {0x00080061, "ModalitiesInStudy", QueryLevel::kStudy, MatchType::kCodeList},
    {0x00201206, "NumberOfStudyRelatedSeries", QueryLevel::kStudy, MatchType::kCount},
    {0x00201208, "NumberOfStudyRelatedInstances", QueryLevel::kStudy, MatchType::kCount},
    {0x00081032, "ProcedureCodeSequence", QueryLevel::kStudy, MatchType::kSequence},
    // Series
    {0x0020000E, "SeriesInstanceUID", QueryLevel::kSeries, MatchType::kUid},
    {0x00080060, "Modality", QueryLevel::kSeries, MatchType::kString},
    {0x00200011, "SeriesNumber", QueryLevel::kSeries, MatchType::kNumberText},
    {0x0008103E, "SeriesDescription", QueryLevel::kSeries, MatchType::kString},
    {0x00180015, "BodyPartExamined", QueryLevel::kSeries, MatchType::kString},
    {0x00201209, "NumberOfSeriesRelatedInstances", QueryLevel::kSeries, MatchType::kCount},
    {0x00400275, "RequestAttributesSequence", QueryLevel::kSeries, MatchType::kSequence},
    // Image
    {0x00080018, "SOPInstanceUID", QueryLevel::kImage, MatchType::kUid},
    {0x00080016, "SOPClassUID", QueryLevel::kImage, MatchType::kUid},
    {0x00200013, "InstanceNumber", QueryLevel::kImage, MatchType::kNumberText},
    {0x00280008, "NumberOfFrames", QueryLevel::kImage, MatchType::kNumber},
    {0x00280010, "Rows", QueryLevel::kImage, MatchType::kNumber},
    {0x00280011, "Columns", QueryLevel::kImage, MatchType::kNumber},
};

// The item attributes kept for each supported sequence (the level is the
// sequence's). Their keywords are also the keys of the stored JSON items.
struct SequenceItemAttribute {
  std::uint32_t sequence_tag;
  std::uint32_t tag;
  const char* name;
  MatchType match;
};

constexpr SequenceItemAttribute kItemAttributes[] = {
    {0x00101002, 0x00100020, "PatientID", MatchType::kString},
    {0x00101002, 0x00100021, "IssuerOfPatientID", MatchType::kString},
    {0x00101002, 0x00100022, "TypeOfPatientID", MatchType::kString},
    {0x00081032, 0x00080100, "CodeValue", MatchType::kString},
    {0x00081032, 0x00080102, "CodingSchemeDesignator", MatchType::kString},
    {0x00081032, 0x00080103, "CodingSchemeVersion", MatchType::kString},
    {0x00081032, 0x00080104, "CodeMeaning", MatchType::kString},
    {0x00400275, 0x00080050, "AccessionNumber", MatchType::kString},
    {0x00400275, 0x0020000D, "StudyInstanceUID", MatchType::kUid},
    {0x00400275, 0x00321060, "RequestedProcedureDescription", MatchType::kString},
    {0x00400275, 0x00400007, "ScheduledProcedureStepDescription", MatchType::kString},
    {0x00400275, 0x00400009, "ScheduledProcedureStepID", MatchType::kString},
    {0x00400275, 0x00401001, "RequestedProcedureID", MatchType::kString},
};

}  // namespace

std::vector<QueryAttribute> SequenceItemAttributes(std::uint32_t sequence_tag) {
  std::vector<QueryAttribute> attributes;
  const QueryAttribute* sequence = FindQueryAttribute(sequence_tag);
  if (sequence == nullptr) return attributes;
  for (const auto& item : kItemAttributes) {
    if (item.sequence_tag == sequence_tag) {
      attributes.push_back({item.tag, item.name, sequence->level, item.match});
    }
  }
  return attributes;
}

const QueryAttribute* FindSequenceItemAttribute(std::uint32_t sequence_tag, std::uint32_t tag) {
  // One static table per process, built on first use.
  static const std::vector<QueryAttribute> all = [] {
    std::vector<QueryAttribute> attributes;
    for (const auto& item : kItemAttributes) {
      attributes.push_back({item.tag, item.name, FindQueryAttribute(item.sequence_tag)->level,
                            item.match});
    }
    return attributes;
  }();
  for (std::size_t i = 0; i < std::size(kItemAttributes); ++i) {
    if (kItemAttributes[i].sequence_tag == sequence_tag && kItemAttributes[i].tag == tag) {
      return &all[i];
    }
  }
  return nullptr;
}

const QueryAttribute* FindQueryAttribute(std::uint32_t tag) {
  for (const auto& attribute : kAttributes) {
    if (attribute.tag == tag) return &attribute;
  }
  return nullptr;
}

std::string DescribeTag(std::uint32_t tag) {
  const std::string number = fmt::format("({:04X},{:04X})", tag >> 16, tag & 0xFFFF);
  const QueryAttribute* attribute = FindQueryAttribute(tag);
  return attribute ? fmt::format("{} {}", attribute->name, number) : number;
}

const char* QueryLevelName(QueryLevel level) {
  switch (level) {
    case QueryLevel::kPatient: return "PATIENT";
    case QueryLevel::kStudy: return "STUDY";
    case QueryLevel::kSeries: return "SERIES";
    case QueryLevel::kImage: return "IMAGE";
  }
  return "IMAGE";
}

}  // namespace hokan::archive
