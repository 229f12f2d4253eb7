#include "archive/query/query_attributes.h"

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
    // Series
    {0x0020000E, "SeriesInstanceUID", QueryLevel::kSeries, MatchType::kUid},
    {0x00080060, "Modality", QueryLevel::kSeries, MatchType::kString},
    {0x00200011, "SeriesNumber", QueryLevel::kSeries, MatchType::kNumberText},
    {0x0008103E, "SeriesDescription", QueryLevel::kSeries, MatchType::kString},
    {0x00180015, "BodyPartExamined", QueryLevel::kSeries, MatchType::kString},
    {0x00201209, "NumberOfSeriesRelatedInstances", QueryLevel::kSeries, MatchType::kCount},
    // Image
    {0x00080018, "SOPInstanceUID", QueryLevel::kImage, MatchType::kUid},
    {0x00080016, "SOPClassUID", QueryLevel::kImage, MatchType::kUid},
    {0x00200013, "InstanceNumber", QueryLevel::kImage, MatchType::kNumberText},
    {0x00280008, "NumberOfFrames", QueryLevel::kImage, MatchType::kNumber},
    {0x00280010, "Rows", QueryLevel::kImage, MatchType::kNumber},
    {0x00280011, "Columns", QueryLevel::kImage, MatchType::kNumber},
};

}  // namespace

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
