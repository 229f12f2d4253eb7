#include "archive/retention/expiry_reason.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace hokan::archive {

std::string FormatQuotaBytes(std::int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const bool negative = bytes < 0;
  // Magnitude as unsigned, so the most negative value does not overflow.
  const std::uint64_t magnitude =
      negative ? std::uint64_t{0} - static_cast<std::uint64_t>(bytes)
               : static_cast<std::uint64_t>(bytes);
  const char* sign = negative ? "-" : "";
  if (magnitude < 1024) return fmt::format("{}{} B", sign, magnitude);
  double value = static_cast<double>(magnitude);
  int unit = 0;
  while (value >= 1024.0 && unit < 6) {
    value /= 1024.0;
    ++unit;
  }
  // One decimal, rounded; "10.0" reads "10". Rounding up to 1024 keeps
  // the unit ("1024 KiB"), which is still exact enough to read.
  const double rounded = std::round(value * 10.0) / 10.0;
  if (rounded == std::floor(rounded)) {
    return fmt::format("{}{:.0f} {}", sign, rounded, kUnits[unit]);
  }
  return fmt::format("{}{:.1f} {}", sign, rounded, kUnits[unit]);
}

std::string ExpiryReason(const ExpiryFacts& facts) {
  switch (facts.cause) {
    case ExpiryCause::kExpired:
      return fmt::format("expired at {}", facts.expires_at);
    case ExpiryCause::kContractEnded:
      return fmt::format("contract {} ended {} + {} day{} grace", facts.contract_id,
                         facts.contract_ends_on, facts.grace_days,
                         facts.grace_days == 1 ? "" : "s");
    case ExpiryCause::kOverQuota: {
      std::string used = FormatQuotaBytes(facts.used_bytes);
      std::string quota = FormatQuotaBytes(facts.quota_bytes);
      if (used == quota) {
        used += fmt::format(" ({} B)", facts.used_bytes);
        quota += fmt::format(" ({} B)", facts.quota_bytes);
      }
      return fmt::format("facility over quota {} > {}", used, quota);
    }
  }
  return "";
}

TimePoint ExpiryBucketStart(TimePoint now, std::chrono::seconds interval) {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto length = interval.count();
  // Floor division, also before 1970.
  auto bucket = since_epoch / length;
  if (since_epoch % length != 0 && since_epoch < 0) --bucket;
  return TimePoint(std::chrono::seconds(bucket * length));
}

std::string ExpiryJobDedupeKey(TimePoint bucket_start) {
  return "expire:" + FormatUtc(bucket_start);
}

}  // namespace hokan::archive
