#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/model/find_request.h"

namespace hokan::archive {

// How a query key's value is matched (see find_request.h).
enum class MatchType {
  kString,         // LO, SH, CS: case-sensitive, single value or wildcard
  kPersonName,     // PN: case-insensitive, per component group
  kUid,            // UI: single value or '\'-separated list, no wildcard
  kDate,           // DA: single value or range
  kTime,           // TM: single value (covers its precision) or range
  kNumberText,     // IS kept as text: single value only
  kNumber,         // IS/US kept as an integer: single decimal value only
  kCodeList,       // CS multi-valued (ModalitiesInStudy): any listed value
  kCount,          // computed count: return key only
  kSequence,       // SQ: one item of sub-keys, each matched by its own type
};

// An attribute the index can match and return.
struct QueryAttribute {
  std::uint32_t tag;
  const char* name;  // DICOM keyword, e.g. "StudyDate"
  QueryLevel level;  // its level in the Patient Root model
  MatchType match;
};

// The supported attribute with `tag`, or nullptr.
const QueryAttribute* FindQueryAttribute(std::uint32_t tag);

// The item attributes the index keeps for the supported sequence `tag`
// (each at the sequence's level; kString or kUid), in dictionary order;
// empty for any other tag.
std::vector<QueryAttribute> SequenceItemAttributes(std::uint32_t sequence_tag);

// The item attribute `tag` of the supported sequence `sequence_tag`, or
// nullptr.
const QueryAttribute* FindSequenceItemAttribute(std::uint32_t sequence_tag, std::uint32_t tag);

// "StudyDate (0008,0020)" for a supported attribute, "(0009,1001)" otherwise.
std::string DescribeTag(std::uint32_t tag);

// "PATIENT", "STUDY", "SERIES" or "IMAGE".
const char* QueryLevelName(QueryLevel level);

}  // namespace hokan::archive
