#include "archive/index/key_match.h"

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

constexpr std::size_t kMaxQuotedChars = 64;

bool IsDigits(const std::string& text, std::size_t from, std::size_t count) {
  if (from + count > text.size()) return false;
  for (std::size_t i = from; i < from + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

int TwoDigits(const std::string& text, std::size_t from) {
  return (text[from] - '0') * 10 + (text[from + 1] - '0');
}

bool HasWildcard(const std::string& text) {
  return text.find_first_of("*?") != std::string::npos;
}

// `text` for an error message, shortened.
std::string Quoted(const std::string& text) {
  if (text.size() <= kMaxQuotedChars) return "'" + text + "'";
  return "'" + text.substr(0, kMaxQuotedChars) + "…'";
}

[[noreturn]] void Refuse(const QueryAttribute& attribute, const std::string& why) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", DescribeTag(attribute.tag), why));
}

// Removes trailing spaces and NULs (padding), and leading spaces unless
// `keep_leading`.
std::string Trimmed(const std::string& value, bool keep_leading) {
  const auto last = value.find_last_not_of(std::string(" \0", 2));
  if (last == std::string::npos) return std::string();
  const std::size_t first = keep_leading ? 0 : value.find_first_not_of(' ');
  return value.substr(first, last + 1 - first);
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// A time padded with zeros to compare it with an upper bound.
std::string TimeLowerBound(const std::string& time) {
  static const std::string kZeros = "000000.000000";
  return time + kZeros.substr(time.size());
}

KeyMatch ParseUid(const QueryAttribute& attribute, const std::string& value) {
  if (HasWildcard(value)) Refuse(attribute, "wildcard not allowed in a UID: " + Quoted(value));
  KeyMatch match;
  for (const std::string& part : Split(value, '\\')) {
    std::string uid = Trimmed(part, /*keep_leading=*/false);
    if (!uid.empty()) match.values.push_back(std::move(uid));
  }
  if (match.values.empty()) return KeyMatch{};
  if (match.values.size() == 1) {
    match.kind = MatchKind::kSingle;
    match.value = std::move(match.values.front());
    match.values.clear();
  } else {
    match.kind = MatchKind::kList;
  }
  return match;
}

// Date and time: a single value or a range "a-b", "a-", "-b".
KeyMatch ParseDateOrTime(const QueryAttribute& attribute, const std::string& value) {
  const bool date = attribute.match == MatchType::kDate;
  const char* what = date ? "a date (YYYYMMDD)" : "a time (HH[MM[SS[.FFFFFF]]])";
  const auto valid = [&](const std::string& text) {
    return date ? IsDicomDate(text) : IsDicomTime(text);
  };
  if (HasWildcard(value)) {
    Refuse(attribute, fmt::format("wildcard not allowed in {}: {}", date ? "a date" : "a time",
                                  Quoted(value)));
  }
  KeyMatch match;
  const auto dash = value.find('-');
  if (dash == std::string::npos) {
    if (!valid(value)) Refuse(attribute, fmt::format("{} is not {}", Quoted(value), what));
    if (date) {
      match.kind = MatchKind::kSingle;
      match.value = value;
    } else {
      match.kind = MatchKind::kRange;
      match.lower = value;
      match.upper = TimeUpperBound(value);
    }
    return match;
  }
  const std::string lower = Trimmed(value.substr(0, dash), false);
  const std::string upper = Trimmed(value.substr(dash + 1), false);
  for (const std::string* end : {&lower, &upper}) {
    if (!end->empty() && !valid(*end)) {
      Refuse(attribute, fmt::format("range {}: {} is not {}", Quoted(value), Quoted(*end), what));
    }
  }
  if (lower.empty() && upper.empty()) return KeyMatch{};  // "-": any value
  match.kind = MatchKind::kRange;
  match.lower = lower;
  match.upper = date || upper.empty() ? upper : TimeUpperBound(upper);
  if (!lower.empty() && !upper.empty() &&
      (date ? lower > upper : TimeLowerBound(lower) > match.upper)) {
    Refuse(attribute, fmt::format("range {} has its ends reversed", Quoted(value)));
  }
  return match;
}

KeyMatch ParseNumber(const QueryAttribute& attribute, const std::string& value) {
  if (HasWildcard(value)) Refuse(attribute, "wildcard not allowed in a number: " + Quoted(value));
  KeyMatch match{MatchKind::kSingle, value, {}, {}, {}};
  if (attribute.match == MatchType::kNumberText) return match;
  // Kept as a PostgreSQL integer: an optional sign and at most 9 digits.
  const std::size_t digits_from = (value[0] == '+' || value[0] == '-') ? 1 : 0;
  const std::size_t digits = value.size() - digits_from;
  if (digits == 0 || digits > 9 || !IsDigits(value, digits_from, digits)) {
    Refuse(attribute, fmt::format("{} is not a decimal integer", Quoted(value)));
  }
  return match;
}

KeyMatch ParsePersonName(const std::string& value) {
  // Trailing empty components do not count, unless the value is matched as
  // a whole (it has '='; then only trailing spaces are removed).
  std::string name = value;
  if (name.find('=') == std::string::npos) {
    const auto last = name.find_last_not_of("^ ");
    name.erase(last == std::string::npos ? 0 : last + 1);
  }
  if (name.empty() || name == "*") return KeyMatch{};
  return KeyMatch{HasWildcard(name) ? MatchKind::kWildcard : MatchKind::kSingle, name, {}, {}, {}};
}

}  // namespace

bool IsDicomDate(const std::string& text) {
  if (text.size() != 8 || !IsDigits(text, 0, 8)) return false;
  const int year = TwoDigits(text, 0) * 100 + TwoDigits(text, 2);
  const int month = TwoDigits(text, 4);
  const int day = TwoDigits(text, 6);
  if (month < 1 || month > 12 || day < 1) return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] && !(month == 2 && day == 29 && !leap);
}

bool IsDicomTime(const std::string& text) {
  const std::size_t size = text.size();
  if (size != 2 && size != 4 && size < 6) return false;
  if (!IsDigits(text, 0, std::min<std::size_t>(size, 6))) return false;
  if (TwoDigits(text, 0) > 23) return false;
  if (size >= 4 && TwoDigits(text, 2) > 59) return false;
  if (size >= 6 && TwoDigits(text, 4) > 60) return false;  // 60: leap second
  if (size <= 6) return true;
  return size >= 8 && size <= 13 && text[6] == '.' && IsDigits(text, 7, size - 7);
}

std::string TimeUpperBound(const std::string& time) {
  static const std::string kNines = "995959.999999";
  if (time.size() <= 6) return time + kNines.substr(time.size());
  return time + std::string(13 - time.size(), '9');
}

KeyMatch ParseKeyMatch(const QueryAttribute& attribute, const std::string& raw) {
  if (raw.size() > kMaxQueryValueBytes) {
    Refuse(attribute, fmt::format("value is longer than {} bytes", kMaxQueryValueBytes));
  }
  const std::string value =
      Trimmed(raw, /*keep_leading=*/attribute.match == MatchType::kPersonName);
  if (value.find('\0') != std::string::npos) Refuse(attribute, "value contains a NUL character");
  if (value.empty() || value == "*") return KeyMatch{};

  switch (attribute.match) {
    case MatchType::kCount:
      Refuse(attribute, "a count is a return key only; send it empty");
    case MatchType::kSequence:
      Refuse(attribute, "a sequence is matched by the attributes of its item, not by a value");
    case MatchType::kUid:
      return ParseUid(attribute, value);
    case MatchType::kDate:
    case MatchType::kTime:
      return ParseDateOrTime(attribute, value);
    case MatchType::kNumberText:
    case MatchType::kNumber:
      return ParseNumber(attribute, value);
    case MatchType::kPersonName:
      return ParsePersonName(value);
    case MatchType::kCodeList: {
      KeyMatch match;
      for (const std::string& part : Split(value, '\\')) {
        std::string code = Trimmed(part, false);
        if (code == "*") return KeyMatch{};  // one universal value: any study
        if (!code.empty()) match.values.push_back(std::move(code));
      }
      if (!match.values.empty()) match.kind = MatchKind::kList;
      return match;
    }
    case MatchType::kString:
      return KeyMatch{HasWildcard(value) ? MatchKind::kWildcard : MatchKind::kSingle, value, {},
                      {}, {}};
  }
  return KeyMatch{};
}

}  // namespace hokan::archive
