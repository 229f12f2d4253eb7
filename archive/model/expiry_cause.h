#pragma once

// Why a study is deleted by expiry, and the facts behind it: plain values
// the index reads and writes (expiry_deletions.cause) and the retention
// service explains (archive/retention/expiry_reason.h).

#include <cstdint>
#include <optional>
#include <string>

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

}  // namespace hokan::archive
