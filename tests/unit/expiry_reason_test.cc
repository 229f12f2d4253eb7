// The pure parts of expiry: causes, audit actions, reasons, byte sizes,
// job buckets and dedupe keys.
#include <catch2/catch.hpp>

#include "archive/retention/expiry_reason.h"

using namespace hokan;
using namespace hokan::archive;

TEST_CASE("expiry causes round-trip through their stored names", "[expiry]") {
  for (ExpiryCause cause :
       {ExpiryCause::kExpired, ExpiryCause::kContractEnded, ExpiryCause::kOverQuota}) {
    CHECK(ParseCause(CauseName(cause)) == cause);
  }
  CHECK(CauseName(ExpiryCause::kContractEnded) == "contract_ended");
  CHECK_FALSE(ParseCause("Expired").has_value());
  CHECK_FALSE(ParseCause("").has_value());
}

TEST_CASE("recycling is audited as study.recycle, the rest as study.expire", "[expiry]") {
  CHECK(AuditAction(ExpiryCause::kExpired) == "study.expire");
  CHECK(AuditAction(ExpiryCause::kContractEnded) == "study.expire");
  CHECK(AuditAction(ExpiryCause::kOverQuota) == "study.recycle");
}

TEST_CASE("byte sizes read in binary units with at most one decimal", "[expiry]") {
  const struct {
    std::int64_t bytes;
    const char* text;
  } cases[] = {
      {0, "0 B"},
      {512, "512 B"},
      {1023, "1023 B"},
      {1024, "1 KiB"},
      {1536, "1.5 KiB"},
      {10LL << 30, "10 GiB"},
      {static_cast<std::int64_t>(10.2 * (1LL << 30)), "10.2 GiB"},
      {(1LL << 40) * 3 / 2, "1.5 TiB"},
      {-2048, "-2 KiB"},
      {INT64_MIN, "-8 EiB"},
  };
  for (const auto& c : cases) {
    INFO(c.bytes);
    CHECK(FormatQuotaBytes(c.bytes) == c.text);
  }
}

TEST_CASE("the reason names the expiry, the contract and grace, or the quota", "[expiry]") {
  ExpiryFacts expired;
  expired.cause = ExpiryCause::kExpired;
  expired.expires_at = "2026-11-01T00:00:00Z";
  CHECK(ExpiryReason(expired) == "expired at 2026-11-01T00:00:00Z");

  ExpiryFacts ended;
  ended.cause = ExpiryCause::kContractEnded;
  ended.contract_id = 12;
  ended.contract_ends_on = "2026-01-31";
  ended.grace_days = 90;
  CHECK(ExpiryReason(ended) == "contract 12 ended 2026-01-31 + 90 days grace");
  ended.grace_days = 1;
  CHECK(ExpiryReason(ended) == "contract 12 ended 2026-01-31 + 1 day grace");

  ExpiryFacts over;
  over.cause = ExpiryCause::kOverQuota;
  over.used_bytes = static_cast<std::int64_t>(10.2 * (1LL << 30));
  over.quota_bytes = 10LL << 30;
  CHECK(ExpiryReason(over) == "facility over quota 10.2 GiB > 10 GiB");
  // Sizes that round alike show their bytes too.
  over.used_bytes = (10LL << 30) + 1;
  CHECK(ExpiryReason(over) ==
        "facility over quota 10 GiB (10737418241 B) > 10 GiB (10737418240 B)");
}

TEST_CASE("expiry jobs are bucketed from the epoch so every node picks the same key",
          "[expiry]") {
  const TimePoint now = *ParseUtc("2026-11-22T19:05:17Z");
  CHECK(FormatUtc(ExpiryBucketStart(now, std::chrono::hours(1))) == "2026-11-22T19:00:00Z");
  CHECK(FormatUtc(ExpiryBucketStart(now, std::chrono::seconds(600))) == "2026-11-22T19:00:00Z");
  CHECK(FormatUtc(ExpiryBucketStart(now, std::chrono::seconds(7))) ==
        FormatUtc(ExpiryBucketStart(now + std::chrono::seconds(1), std::chrono::seconds(7))));
  CHECK(FormatUtc(ExpiryBucketStart(now, std::chrono::hours(24))) == "2026-11-22T00:00:00Z");
  // A bucket start is its own bucket.
  const TimePoint start = *ParseUtc("2026-11-22T19:00:00Z");
  CHECK(ExpiryBucketStart(start, std::chrono::hours(1)) == start);
  CHECK(ExpiryBucketStart(start - std::chrono::seconds(1), std::chrono::hours(1)) ==
        start - std::chrono::hours(1));
  // Before the epoch, still the floor.
  const TimePoint before = *ParseUtc("1969-12-31T23:59:59Z");
  CHECK(FormatUtc(ExpiryBucketStart(before, std::chrono::hours(1))) == "1969-12-31T23:00:00Z");
  CHECK(ExpiryJobDedupeKey(start) == "expire:2026-11-22T19:00:00Z");
}
