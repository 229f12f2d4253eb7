// Storage periods: parsing, calendar arithmetic and expiry dates (pure).

#include <catch2/catch.hpp>

#include "archive/common/error.h"
#include "archive/rules/storage_period.h"

namespace hokan::archive {
namespace {

CivilDate Date(int year, int month, int day) { return {year, month, day}; }

std::string Text(const CivilDate &date) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", date.year, date.month,
                date.day);
  return text;
}

std::string Text(const std::optional<TimePoint> &time) {
  return time ? FormatUtc(*time) : "never";
}

TimePoint Utc(const std::string &text) {
  const auto time = ParseUtc(text);
  REQUIRE(time);
  return *time;
}

} // namespace

TEST_CASE("ParseStoragePeriod accepts durations, until-age and forever",
          "[storage_period]") {
  struct Row {
    std::string text;
    StoragePeriod::Kind kind;
    int years, months, days, until_age;
    std::string canonical;
  };
  using Kind = StoragePeriod::Kind;
  const std::vector<Row> rows = {
      {"10y", Kind::kDuration, 10, 0, 0, 0, "10y"},
      {"18m", Kind::kDuration, 0, 18, 0, 0, "18m"},
      {"30d", Kind::kDuration, 0, 0, 30, 0, "30d"},
      {"1y6m", Kind::kDuration, 1, 6, 0, 0, "1y6m"},
      {"2y15d", Kind::kDuration, 2, 0, 15, 0, "2y15d"},
      {"1y2m3d", Kind::kDuration, 1, 2, 3, 0, "1y2m3d"},
      {"  5Y  ", Kind::kDuration, 5, 0, 0, 0, "5y"},
      {"0y6m", Kind::kDuration, 0, 6, 0, 0, "6m"},
      {"200y", Kind::kDuration, 200, 0, 0, 0, "200y"},
      {"until-age 25", Kind::kUntilAge, 0, 0, 0, 25, "until-age 25"},
      {"until-age   18", Kind::kUntilAge, 0, 0, 0, 18, "until-age 18"},
      {"until-age18", Kind::kUntilAge, 0, 0, 0, 18, "until-age 18"},
      {"forever", Kind::kForever, 0, 0, 0, 0, "forever"},
      {" FOREVER ", Kind::kForever, 0, 0, 0, 0, "forever"},
  };
  for (const auto &row : rows) {
    INFO(row.text);
    const StoragePeriod period = ParseStoragePeriod(row.text);
    CHECK(period.kind == row.kind);
    CHECK(period.years == row.years);
    CHECK(period.months == row.months);
    CHECK(period.days == row.days);
    CHECK(period.until_age == row.until_age);
    CHECK(FormatStoragePeriod(period) == row.canonical);
    // The canonical spelling parses back to the same period.
    CHECK(FormatStoragePeriod(ParseStoragePeriod(row.canonical)) ==
          row.canonical);
  }
}

TEST_CASE("ParseStoragePeriod refuses bad spellings with a message saying why",
          "[storage_period]") {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"", "empty"},
      {"   ", "empty"},
      {"0y", "zero"},
      {"0y0m0d", "zero"},
      {"-5y", "negative"},
      {"until-age -3", "negative"},
      {"ten years", "expected a number"},
      {"10", "needs a unit"},
      {"10w", "unknown unit 'w'"},
      {"6m1y", "order y, m, d"},
      {"1y1y", "order y, m, d"},
      {"1y 6m", "expected a number"},
      {"201y", "over 200 years"},
      {"199y13m", "over 200 years"},
      {"2401m", "over 200 years"},
      {"73100d", "over 200 years"},
      {"99999999y", "too large"},
      {"until-age", "needs an age"},
      {"until-age ", "needs an age"},
      {"until-age 0", "zero"},
      {"until-age 201", "over 200 years"},
      {"until-age 25y", "unexpected text"},
      {"until-age twenty", "a number is missing"},
      {"never", "expected a number"},
  };
  for (const auto &[text, why] : rows) {
    INFO("'" << text << "'");
    try {
      ParseStoragePeriod(text);
      FAIL("accepted");
    } catch (const Error &error) {
      CHECK(error.code() == ErrorCode::kInvalidInput);
      const std::string message = error.what();
      CHECK_THAT(message, Catch::Contains(why));
      CHECK_THAT(message, Catch::Contains("'" + text + "'"));
      CHECK_THAT(message, Catch::Contains("allowed:"));
    }
  }
}

TEST_CASE("ParseDicomDate accepts real calendar days only",
          "[storage_period]") {
  CHECK(ParseDicomDate("20240229") == Date(2024, 2, 29));
  CHECK(ParseDicomDate("20261122 ") == Date(2026, 11, 22));
  CHECK(ParseDicomDate("20000229") == Date(2000, 2, 29));
  for (const std::string bad :
       {"", "2026112", "202611221", "20230229", "19000229", "20261131",
        "20261301", "20260001", "20260100", "00000000", "2026-11-22",
        "2026112x", "+2026112"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(ParseDicomDate(bad));
  }
}

TEST_CASE("AddToDate clamps to month ends like PostgreSQL",
          "[storage_period]") {
  struct Row {
    CivilDate from;
    int years, months, days;
    CivilDate expected;
  };
  const std::vector<Row> rows = {
      {Date(2024, 2, 29), 1, 0, 0, Date(2025, 2, 28)}, // leap day + 1y
      {Date(2024, 2, 29), 4, 0, 0, Date(2028, 2, 29)}, // leap day + 4y
      {Date(2024, 2, 29), 100, 0, 0, Date(2124, 2, 29)},
      {Date(2000, 2, 29), 100, 0, 0,
       Date(2100, 2, 28)}, // 2100 is not a leap year
      {Date(2024, 1, 31), 0, 1, 0, Date(2024, 2, 29)}, // leap year month end
      {Date(2025, 1, 31), 0, 1, 0, Date(2025, 2, 28)}, // common year month end
      {Date(2025, 3, 31), 0, 1, 0, Date(2025, 4, 30)},
      {Date(2025, 11, 30), 0, 3, 0, Date(2026, 2, 28)},
      {Date(2025, 12, 15), 0, 1, 0, Date(2026, 1, 15)},
      {Date(2024, 2, 29), 1, 1, 0,
       Date(2025, 3, 29)}, // clamp once, as PostgreSQL
      {Date(2025, 1, 31), 0, 1, 1, Date(2025, 3, 1)}, // months, then days
      {Date(2024, 12, 31), 0, 0, 1, Date(2025, 1, 1)},
      {Date(2024, 2, 28), 0, 0, 1, Date(2024, 2, 29)},
      {Date(2026, 11, 22), 0, 18, 0, Date(2028, 5, 22)},
      {Date(2026, 11, 22), 0, 0, 30, Date(2026, 12, 22)},
      {Date(2026, 11, 22), 200, 0, 0, Date(2226, 11, 22)},
  };
  for (const auto &row : rows) {
    INFO(Text(row.from) << " + " << row.years << "y" << row.months << "m"
                        << row.days << "d");
    CHECK(Text(AddToDate(row.from, row.years, row.months, row.days)) ==
          Text(row.expected));
  }
}

TEST_CASE("StartOfDay and DateOf are UTC", "[storage_period]") {
  CHECK(FormatUtc(StartOfDay(Date(2026, 11, 22))) == "2026-11-22T00:00:00Z");
  CHECK(FormatUtc(StartOfDay(Date(1970, 1, 1))) == "1970-01-01T00:00:00Z");
  CHECK(FormatUtc(StartOfDay(Date(1969, 12, 31))) == "1969-12-31T00:00:00Z");
  CHECK(DateOf(Utc("2026-11-22T23:59:59Z")) == Date(2026, 11, 22));
  CHECK(DateOf(Utc("2026-11-23T00:00:00Z")) == Date(2026, 11, 23));
}

TEST_CASE("AgeInYears counts whole years; a Feb 29 birthday counts from Mar 1",
          "[storage_period]") {
  struct Row {
    CivilDate birth, on;
    int age;
  };
  const std::vector<Row> rows = {
      {Date(1970, 1, 1), Date(2026, 11, 22), 56},
      {Date(2000, 11, 22), Date(2025, 11, 22), 25}, // birthday itself
      {Date(2000, 11, 23), Date(2025, 11, 22), 24}, // the day before
      {Date(2004, 2, 29), Date(2025, 2, 28), 20},   // common year: not yet
      {Date(2004, 2, 29), Date(2025, 3, 1), 21},    // common year: Mar 1
      {Date(2004, 2, 29), Date(2028, 2, 28), 23},
      {Date(2004, 2, 29), Date(2028, 2, 29), 24}, // leap year: Feb 29
      {Date(2026, 11, 22), Date(2026, 11, 22), 0},
      {Date(2026, 11, 23), Date(2026, 11, 22), -1}, // not yet born
      {Date(2030, 1, 1), Date(2026, 11, 22), -4},
  };
  for (const auto &row : rows) {
    INFO(Text(row.birth) << " on " << Text(row.on));
    CHECK(AgeInYears(row.birth, row.on) == row.age);
  }
}

TEST_CASE(
    "ExpiryOf counts from the study date, the receipt day or the birth date",
    "[storage_period]") {
  const TimePoint received = Utc("2026-11-22T10:30:00Z");
  struct Row {
    std::string name;
    std::string period;
    std::string study_date; // DICOM DA, possibly malformed
    std::string birth_date;
    std::string fallback;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"study date + 10y", "10y", "20200115", "19700101", "5y",
       "2030-01-15T00:00:00Z"},
      {"study date on a leap day + 1y", "1y", "20240229", "", "5y",
       "2025-02-28T00:00:00Z"},
      {"study date on a leap day + 4y", "4y", "20240229", "", "5y",
       "2028-02-29T00:00:00Z"},
      {"month end + 1m, leap year", "1m", "20240131", "", "5y",
       "2024-02-29T00:00:00Z"},
      {"month end + 1m, common year", "1m", "20250131", "", "5y",
       "2025-02-28T00:00:00Z"},
      {"study date missing: receipt day", "30d", "", "", "5y",
       "2026-12-22T00:00:00Z"},
      {"study date malformed: receipt day", "1y", "2026-01-01", "", "5y",
       "2027-11-22T00:00:00Z"},
      {"study date impossible: receipt day", "1y", "20250230", "", "5y",
       "2027-11-22T00:00:00Z"},
      {"until-age 25", "until-age 25", "20200101", "20100615", "5y",
       "2035-06-15T00:00:00Z"},
      {"until-age with a Feb 29 birthday, common year", "until-age 25",
       "20200101", "20040229", "5y", "2029-03-01T00:00:00Z"},
      {"until-age with a Feb 29 birthday, leap year", "until-age 24",
       "20200101", "20040229", "5y", "2028-02-29T00:00:00Z"},
      {"until-age already reached", "until-age 18", "20260101", "19700101",
       "5y", "1988-01-01T00:00:00Z"},
      {"until-age, birth date unknown: fallback from study date",
       "until-age 25", "20200101", "", "5y", "2025-01-01T00:00:00Z"},
      {"until-age, birth date malformed: fallback", "until-age 25", "20200101",
       "1970", "10y", "2030-01-01T00:00:00Z"},
      {"until-age, birth unknown, no study date: fallback from receipt",
       "until-age 25", "", "", "1y", "2027-11-22T00:00:00Z"},
      {"until-age, birth unknown, fallback forever", "until-age 25", "20200101",
       "", "forever", "never"},
      {"until-age, birth unknown, fallback until-age: kept", "until-age 25",
       "20200101", "", "until-age 30", "never"},
      {"forever", "forever", "20200101", "19700101", "5y", "never"},
  };
  for (const auto &row : rows) {
    INFO(row.name);
    const auto expiry =
        ExpiryOf(ParseStoragePeriod(row.period), ParseDicomDate(row.study_date),
                 ParseDicomDate(row.birth_date), received,
                 ParseStoragePeriod(row.fallback));
    CHECK(Text(expiry) == row.expected);
  }
}

} // namespace hokan::archive
