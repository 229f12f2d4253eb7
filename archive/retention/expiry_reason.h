#pragma once

// What the expiry run says about a study it deletes: the human-readable
// reason (the cause and its facts are archive/model/expiry_cause.h); and
// the schedule of expiry jobs.
// Pure functions, no I/O.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "archive/common/clock.h"
#include "archive/model/expiry_cause.h"

namespace hokan::archive {

// The audit reason: "expired at 2026-11-01T00:00:00Z",
// "contract 12 ended 2026-01-31 + 90 days grace",
// "facility over quota 10.2 GiB > 10 GiB" (exact bytes added when the
// rounded sizes would read the same).
std::string ExpiryReason(const ExpiryFacts& facts);

// Binary units with at most one decimal: "512 B", "1.5 KiB", "10 GiB".
// Negative values are shown with a minus sign.
std::string FormatQuotaBytes(std::int64_t bytes);

// The start of the expiry interval that holds `now` (intervals count from
// the Unix epoch, so every node computes the same buckets).
// REQUIRES: interval > 0.
TimePoint ExpiryBucketStart(TimePoint now, std::chrono::seconds interval);

// The jobs.dedupe_key of the expiry run of the bucket starting at
// `bucket_start`: "expire:2026-11-22T19:00:00Z".
std::string ExpiryJobDedupeKey(TimePoint bucket_start);

}  // namespace hokan::archive
