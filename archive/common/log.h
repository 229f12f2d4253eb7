#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hokan {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Process-wide log: one line per call on stderr, "<UTC time> <LEVEL> <text>".
// Thread-safe; lines from different threads never interleave.
void SetLogLevel(LogLevel level);
LogLevel CurrentLogLevel();
// Parses "error", "warn", "info" or "debug"; returns false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);
void WriteLogLine(LogLevel level, std::string_view text);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (static_cast<int>(level) > static_cast<int>(CurrentLogLevel())) return;
  WriteLogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace hokan
