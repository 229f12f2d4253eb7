#include "archive/rules/storage_period.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

constexpr int kMaximumYears = 200;
constexpr const char *kAllowed = "allowed: a duration such as '10y', '18m', "
                                 "'30d' or '1y6m15d' (years, months, days in "
                                 "that order, not zero, at most 200 years), "
                                 "'until-age N' (N from 1 to 200) or 'forever'";

[[noreturn]] void Refuse(const std::string &text, const std::string &why) {
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("storage period '{}': {}; {}", text, why, kAllowed));
}

std::string Trim(const std::string &text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
    return "";
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads the digits at `text[position]`; at most 6 of them (larger amounts
// are over any limit anyway). Advances `position`.
int ReadAmount(const std::string &original, const std::string &text,
               std::size_t &position) {
  const std::size_t start = position;
  while (position < text.size() && IsDigit(text[position]))
    ++position;
  if (position == start)
    Refuse(original, "a number is missing");
  if (position - start > 6)
    Refuse(original, "the number is too large");
  return std::stoi(text.substr(start, position - start));
}

bool IsLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil), and back.
std::int64_t DaysFromCivil(const CivilDate &date) {
  const std::int64_t year = date.month <= 2 ? date.year - 1 : date.year;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year =
      (153 * (date.month + (date.month > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

CivilDate CivilFromDays(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t day_of_era = days - era * 146097;
  const std::int64_t year_of_era = (day_of_era - day_of_era / 1460 +
                                    day_of_era / 36524 - day_of_era / 146096) /
                                   365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t month_index = (5 * day_of_year + 2) / 153;
  CivilDate date;
  date.day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  date.month =
      static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  date.year =
      static_cast<int>(year_of_era + era * 400 + (date.month <= 2 ? 1 : 0));
  return date;
}

// The day `birth` has its `years`-th anniversary, as AgeInYears counts it
// (a Feb 29 birthday falls on Mar 1 in common years).
CivilDate Birthday(const CivilDate &birth, int years) {
  const int year = birth.year + years;
  if (birth.month == 2 && birth.day == 29 && !IsLeapYear(year))
    return {year, 3, 1};
  return {year, birth.month, birth.day};
}

} // namespace

StoragePeriod ParseStoragePeriod(const std::string &original) {
  std::string text = Trim(original);
  for (char &c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text.empty())
    Refuse(original, "it is empty");
  StoragePeriod period;
  if (text == "forever")
    return period;
  if (text.rfind("until-age", 0) == 0) {
    std::string rest = Trim(text.substr(9));
    if (rest.empty())
      Refuse(original, "'until-age' needs an age in years");
    if (rest[0] == '-')
      Refuse(original, "the age is negative");
    std::size_t position = 0;
    const int age = ReadAmount(original, rest, position);
    if (position != rest.size())
      Refuse(original, "unexpected text after the age");
    if (age == 0)
      Refuse(original, "the age is zero");
    if (age > kMaximumYears)
      Refuse(original, "the age is over 200 years");
    period.kind = StoragePeriod::Kind::kUntilAge;
    period.until_age = age;
    return period;
  }
  if (text[0] == '-')
    Refuse(original, "a period cannot be negative");
  period.kind = StoragePeriod::Kind::kDuration;
  std::size_t position = 0;
  int last_unit =
      -1; // index in "ymd" of the previous unit: units go in that order
  while (position < text.size()) {
    if (!IsDigit(text[position]))
      Refuse(original, "expected a number");
    const int amount = ReadAmount(original, text, position);
    if (position == text.size())
      Refuse(original, "a number needs a unit (y, m or d)");
    const char unit = text[position++];
    const std::string units = "ymd";
    const auto index = units.find(unit);
    if (index == std::string::npos) {
      Refuse(original, fmt::format("unknown unit '{}' (use y, m or d)", unit));
    }
    if (static_cast<int>(index) <= last_unit) {
      Refuse(original, "units must appear once each, in the order y, m, d");
    }
    last_unit = static_cast<int>(index);
    (unit == 'y'   ? period.years
     : unit == 'm' ? period.months
                   : period.days) = amount;
  }
  if (period.years == 0 && period.months == 0 && period.days == 0) {
    Refuse(original, "the period is zero");
  }
  // Longer than 200 years, counted on the calendar from a fixed day.
  const CivilDate base{2000, 1, 1};
  if (DaysFromCivil(AddToDate(base, period.years, period.months, period.days)) >
      DaysFromCivil(AddToDate(base, kMaximumYears, 0, 0))) {
    Refuse(original, "the period is over 200 years");
  }
  return period;
}

std::string FormatStoragePeriod(const StoragePeriod &period) {
  switch (period.kind) {
  case StoragePeriod::Kind::kForever:
    return "forever";
  case StoragePeriod::Kind::kUntilAge:
    return fmt::format("until-age {}", period.until_age);
  case StoragePeriod::Kind::kDuration:
    break;
  }
  std::string text;
  if (period.years)
    text += fmt::format("{}y", period.years);
  if (period.months)
    text += fmt::format("{}m", period.months);
  if (period.days)
    text += fmt::format("{}d", period.days);
  return text.empty() ? "0d" : text;
}

std::optional<CivilDate> ParseDicomDate(const std::string &original) {
  const std::string text = Trim(original);
  if (text.size() != 8)
    return std::nullopt;
  for (char c : text) {
    if (!IsDigit(c))
      return std::nullopt;
  }
  const CivilDate date{std::stoi(text.substr(0, 4)),
                       std::stoi(text.substr(4, 2)),
                       std::stoi(text.substr(6, 2))};
  if (date.year < 1 || date.month < 1 || date.month > 12 || date.day < 1 ||
      date.day > DaysInMonth(date.year, date.month)) {
    return std::nullopt;
  }
  return date;
}

CivilDate AddToDate(const CivilDate &date, int years, int months, int days) {
  // Years and months move the month; the day is clamped once, at the end
  // of both (as PostgreSQL adds an interval's months).
  const std::int64_t month_index =
      static_cast<std::int64_t>(date.year + years) * 12 + (date.month - 1) +
      months;
  const std::int64_t year =
      month_index >= 0 ? month_index / 12 : (month_index - 11) / 12;
  CivilDate moved;
  moved.year = static_cast<int>(year);
  moved.month = static_cast<int>(month_index - year * 12) + 1;
  moved.day = std::min(date.day, DaysInMonth(moved.year, moved.month));
  return CivilFromDays(DaysFromCivil(moved) + days);
}

TimePoint StartOfDay(const CivilDate &date) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(DaysFromCivil(date) * 86400)));
}

CivilDate DateOf(TimePoint time) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch())
          .count();
  const std::int64_t days =
      seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  return CivilFromDays(days);
}

int AgeInYears(const CivilDate &birth, const CivilDate &on) {
  int age = on.year - birth.year;
  const CivilDate birthday = Birthday(birth, age);
  if (on.month < birthday.month ||
      (on.month == birthday.month && on.day < birthday.day)) {
    --age;
  }
  return age;
}

std::optional<TimePoint> ExpiryOf(const StoragePeriod &period,
                                  const std::optional<CivilDate> &study_date,
                                  const std::optional<CivilDate> &birth_date,
                                  TimePoint received_at,
                                  const StoragePeriod &fallback) {
  switch (period.kind) {
  case StoragePeriod::Kind::kForever:
    return std::nullopt;
  case StoragePeriod::Kind::kUntilAge:
    if (birth_date)
      return StartOfDay(Birthday(*birth_date, period.until_age));
    // An until-age fallback cannot help either: keep the data.
    if (fallback.kind == StoragePeriod::Kind::kUntilAge)
      return std::nullopt;
    return ExpiryOf(fallback, study_date, birth_date, received_at, fallback);
  case StoragePeriod::Kind::kDuration:
    break;
  }
  const CivilDate from = study_date ? *study_date : DateOf(received_at);
  return StartOfDay(AddToDate(from, period.years, period.months, period.days));
}

} // namespace hokan::archive
