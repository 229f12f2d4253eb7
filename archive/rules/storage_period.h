#pragma once

#include <optional>
#include <string>

#include "archive/common/clock.h"

namespace hokan::archive {

// A calendar date (proleptic Gregorian), e.g. a DICOM DA value.
struct CivilDate {
  int year = 0;
  int month = 0;  // 1-12
  int day = 0;    // 1-31
  friend bool operator==(const CivilDate& a, const CivilDate& b) {
    return a.year == b.year && a.month == b.month && a.day == b.day;
  }
};

// How long data is kept (a contract's default, or a rule's action):
//   "10y", "18m", "30d", combinations in that order such as "1y6m" or
//   "2y15d"; "until-age 25" (until the patient's 25th birthday);
//   "forever" (never expires).
struct StoragePeriod {
  enum class Kind { kForever, kDuration, kUntilAge };
  Kind kind = Kind::kForever;
  int years = 0;
  int months = 0;
  int days = 0;
  int until_age = 0;  // kUntilAge
};

// Parses the spellings above (surrounding spaces ignored). Throws
// hokan::Error(kInvalidInput) quoting the text and saying what is allowed;
// a zero duration and amounts over 200 years are refused.
StoragePeriod ParseStoragePeriod(const std::string& text);

// The canonical spelling ParseStoragePeriod accepts ("1y6m", "until-age 25").
std::string FormatStoragePeriod(const StoragePeriod& period);

// A DICOM date "YYYYMMDD" (a real calendar day); nullopt otherwise.
std::optional<CivilDate> ParseDicomDate(const std::string& text);

// `date` plus years, then months, then days. Years and months keep the day
// of month, clamped to the last day of a shorter month (Feb 29 + 1y =
// Feb 28; Jan 31 + 1m = Feb 28 or 29), as PostgreSQL's date + interval
// (the clamp happens once, after years and months: Feb 29 + 1y1m = Mar 29).
CivilDate AddToDate(const CivilDate& date, int years, int months, int days);

// Midnight UTC at the start of `date`.
TimePoint StartOfDay(const CivilDate& date);

// The UTC calendar date of `time`.
CivilDate DateOf(TimePoint time);

// Age in whole years on `on` of someone born on `birth` (a Feb 29 birthday
// counts from Mar 1 in common years); negative when `on` is before `birth`.
int AgeInYears(const CivilDate& birth, const CivilDate& on);

// When data kept for `period` expires: the period counts from the study
// date (the day of receipt when the study date is unknown); "until-age N"
// expires at the start of the patient's N-th birthday (as AgeInYears
// counts it); when the birth date is unknown it returns `fallback` applied
// the same way (an until-age fallback then means never: data is kept
// rather than guessed away). nullopt = never (forever). Expiry is at
// midnight UTC of the day computed.
std::optional<TimePoint> ExpiryOf(const StoragePeriod& period,
                                  const std::optional<CivilDate>& study_date,
                                  const std::optional<CivilDate>& birth_date,
                                  TimePoint received_at, const StoragePeriod& fallback);

}  // namespace hokan::archive
