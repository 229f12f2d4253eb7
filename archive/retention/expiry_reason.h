#pragma once

// What the expiry run says about a study it deletes: the cause, the audit
// action, the human-readable reason; and the schedule of expiry jobs.
// Pure functions, no I/O.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "archive/common/clock.h"

namespace hokan::archive {

enum class ExpiryCause {
  kExpired,        // studies.expires_at is not after now, no legal hold
  kContractEnded,  // the facility's last contract ended + grace days, no current contract
  kOverQuota,      // recycling: the facility uses more than its quota
};

// "expired", "contract_ended", "over_quota" (expiry_deletions.cause).
std::string CauseName(ExpiryCause cause);
// The inverse; nullopt for anything else.
std::optional<ExpiryCause> ParseCause(const std::string& name);

// The audit action: "study.recycle" for kOverQuota, else "study.expire".
std::string AuditAction(ExpiryCause cause);

// The facts behind a cause, as the index reports them.
struct ExpiryFacts {
  ExpiryCause cause = ExpiryCause::kExpired;
  std::string expires_at;        // kExpired: UTC "2026-11-22T19:05:17Z"
  std::int64_t contract_id = 0;  // kContractEnded: the last contract
  std::string contract_ends_on;  // kContractEnded: "2026-01-31"
  int grace_days = 0;            // kContractEnded
  std::int64_t used_bytes = 0;   // kOverQuota: facility_usage.used_bytes
  std::int64_t quota_bytes = 0;  // kOverQuota: the current contract's quota
};

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
