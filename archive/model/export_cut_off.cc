#include "archive/model/export_cut_off.h"

#include <cctype>
#include <chrono>

#include <fmt/format.h>

namespace hokan::archive {

std::string FormatCutOff(TimePoint time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const auto fraction = ((micros % 1000000) + 1000000) % 1000000;
  const TimePoint whole{std::chrono::microseconds(micros - fraction)};
  const std::string text = FormatUtc(whole);  // "YYYY-MM-DDTHH:MM:SSZ"
  return fmt::format("{}.{:06}Z", text.substr(0, 19), fraction);
}

std::optional<TimePoint> ParseCutOff(const std::string& text) {
  // "YYYY-MM-DDTHH:MM:SS.ffffffZ" (1-6 fraction digits) or a ParseUtc form.
  const std::size_t dot = text.find('.');
  if (dot == std::string::npos) return ParseUtc(text);
  if (dot != 19 || text.back() != 'Z') return std::nullopt;
  const std::string digits = text.substr(20, text.size() - 21);
  if (digits.empty() || digits.size() > 6) return std::nullopt;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const auto whole = ParseUtc(text.substr(0, 19) + "Z");
  if (!whole) return std::nullopt;
  long micros = std::stol(digits);
  for (std::size_t i = digits.size(); i < 6; ++i) micros *= 10;
  return *whole + std::chrono::microseconds(micros);
}

}  // namespace hokan::archive
