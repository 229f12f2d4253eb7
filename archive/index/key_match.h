#pragma once

#include <string>
#include <vector>

#include "archive/model/query_attributes.h"

namespace hokan::archive {

// The largest value a query key may carry, in bytes (64 KiB, inclusive).
inline constexpr std::size_t kMaxQueryValueBytes = 64 * 1024;

enum class MatchKind {
  kUniversal,  // no condition
  kSingle,     // value: exact (PN: case-insensitive)
  kWildcard,   // value: a pattern with DICOM '*' and '?' (not yet escaped for SQL)
  kList,       // values: any of them (UIDs; codes of a kCodeList, which may hold wildcards)
  kRange,      // lower/upper: inclusive bounds as stored text; empty = open end
};

// How one key's value is matched, normalised: spaces that are not
// significant removed; for PN, trailing '^' removed when the value has no
// '='; a single time turned into the range its precision covers.
struct KeyMatch {
  MatchKind kind = MatchKind::kUniversal;
  std::string value;
  std::vector<std::string> values;
  std::string lower;
  std::string upper;
};

// Parses `value` of `attribute` by the rules in find_request.h.
// Throws hokan::Error(kInvalidInput) naming the attribute for a value those
// rules refuse. Values of names and descriptions are never quoted in the
// message (they may identify a patient); UIDs, dates, times and numbers are.
KeyMatch ParseKeyMatch(const QueryAttribute& attribute, const std::string& value);

// Whether `text` is a valid DICOM date 'YYYYMMDD' (a real calendar day).
bool IsDicomDate(const std::string& text);

// Whether `text` is a valid DICOM time 'HH[MM[SS[.F{1,6}]]]'.
bool IsDicomTime(const std::string& text);

// The largest full time `time` (a valid DICOM time) covers:
// "08" -> "085959.999999", "0830" -> "083059.999999", "083015.5" -> "083015.599999".
std::string TimeUpperBound(const std::string& time);

}  // namespace hokan::archive
