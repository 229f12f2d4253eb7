#include "archive/common/clock.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include <boost/date_time/posix_time/posix_time.hpp>
#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan {
namespace {

TimePoint FromPosix(const boost::posix_time::ptime& time) {
  static const boost::posix_time::ptime kEpoch(boost::gregorian::date(1970, 1, 1));
  return TimePoint(std::chrono::seconds((time - kEpoch).total_seconds()));
}

}  // namespace

TimePoint Now() {
  const char* file = std::getenv("HOKAN_TEST_CLOCK_FILE");
  if (file == nullptr || *file == '\0') return std::chrono::system_clock::now();
  std::ifstream in(file);
  std::string text;
  if (!in || !std::getline(in, text) || text.empty()) return std::chrono::system_clock::now();
  const auto parsed = ParseUtc(text);
  if (!parsed) {
    throw Error(ErrorCode::kConfiguration,
                fmt::format("HOKAN_TEST_CLOCK_FILE {}: '{}' is not a UTC time like "
                            "2031-05-01T00:00:00Z", file, text));
  }
  return *parsed;
}

std::string FormatUtc(TimePoint time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

std::string FormatUtcMicroseconds(TimePoint time) {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch());
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  if (seconds > since_epoch) seconds -= std::chrono::seconds(1);  // before 1970: round down
  const auto micros = (since_epoch - seconds).count();
  std::string whole = FormatUtc(TimePoint(seconds));
  whole.pop_back();  // the 'Z'
  return fmt::format("{}.{:06}Z", whole, micros);
}

std::optional<TimePoint> ParseUtc(const std::string& text) {
  std::string normalized = text;
  if (normalized.size() == 10) normalized += " 00:00:00";
  if (normalized.size() == 20 && normalized[10] == 'T' && normalized[19] == 'Z') {
    normalized[10] = ' ';
    normalized.pop_back();
  }
  if (normalized.size() != 19 || normalized[10] != ' ') return std::nullopt;
  try {
    const boost::posix_time::ptime time = boost::posix_time::time_from_string(normalized);
    if (time.is_special()) return std::nullopt;
    return FromPosix(time);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace hokan
