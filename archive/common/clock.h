#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace hokan {

using TimePoint = std::chrono::system_clock::time_point;

// The time the archive acts on (expiry, contracts, jobs, storage periods).
// It is the system clock, unless the environment variable
// HOKAN_TEST_CLOCK_FILE names a file: then "now" is the UTC time written
// in that file ("2031-05-01T00:00:00Z"), read at every call, so tests move
// time forward without sleeping. A missing or empty file means the system
// clock; a file that does not parse throws hokan::Error(kConfiguration).
TimePoint Now();

// "2026-11-22T19:05:17Z" (UTC, whole seconds).
std::string FormatUtc(TimePoint time);

// Parses "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DD HH:MM:SS" (UTC) or
// "YYYY-MM-DD" (midnight UTC); nullopt for anything else.
std::optional<TimePoint> ParseUtc(const std::string& text);

}  // namespace hokan
