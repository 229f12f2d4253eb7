#pragma once

// The cut-off of an offline export (offline_exports.cut_off): the instant up
// to which a day's export takes the studies received.

#include <optional>
#include <string>

#include "archive/common/clock.h"

namespace hokan::archive {

// A cut-off as text with microseconds, "2026-11-22T02:00:00.000000Z", and
// back (also accepts the whole-second forms of ParseUtc). Cut-offs keep
// microseconds because they compare with studies.last_received_at.
std::string FormatCutOff(TimePoint time);
std::optional<TimePoint> ParseCutOff(const std::string& text);

}  // namespace hokan::archive
