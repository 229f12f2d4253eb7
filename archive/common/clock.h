#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace hokan {

using TimePoint = std::chrono::system_clock::time_point;

// hokan has one clock: Now(). Everything it decides or records by time
// (which contract is current and the provisional one's dates, storage
// periods and expiry, job schedules, usage samples, billing days, audit,
// received and changed times) reads Now(), in hokan-archive, hokan and
// hokan-forward alike. SQL never asks PostgreSQL for the time: a statement
// that needs "now" takes it as a parameter (FormatUtc or
// FormatUtcMicroseconds of Now()), and no column defaults to now() (schema
// 012). Durations that only measure elapsed time use std::chrono::steady_clock;
// log lines carry the system clock's time, to match the machine's other logs.
//
// Now() is the system clock, unless the environment variable
// HOKAN_TEST_CLOCK_FILE names a file: then "now" is the UTC time written
// in that file ("2031-05-01T00:00:00Z"), read at every call, so tests move
// time forward without sleeping. A missing or empty file means the system
// clock; a file that does not parse throws hokan::Error(kConfiguration).
TimePoint Now();

// "2026-11-22T19:05:17Z" (UTC, whole seconds).
std::string FormatUtc(TimePoint time);

// "2026-11-22T19:05:17.123456Z" (UTC, microseconds, as PostgreSQL keeps a
// timestamptz): for times written to the database where the order of
// events within one second matters (received, finished).
std::string FormatUtcMicroseconds(TimePoint time);

// Parses "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DD HH:MM:SS" (UTC) or
// "YYYY-MM-DD" (midnight UTC); nullopt for anything else.
std::optional<TimePoint> ParseUtc(const std::string& text);

}  // namespace hokan
