#pragma once

// Storage usage per facility for `hokan usage`: what is used against the
// current contract's quota, and what is about to expire. Reads the counters
// kept at ingest and expiry (facility_usage, studies.size_bytes …); never
// scans instances.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"

namespace hokan::archive {

class Database;

struct FacilityUsageReport {
  std::string facility;
  std::int64_t used_bytes = 0;  // facility_usage (0 when it has no row yet)
  std::int64_t studies = 0;
  std::int64_t instances = 0;
  std::optional<std::int64_t> contract_id;  // the current contract; nullopt: none
  std::optional<std::int64_t> quota_bytes;  // its quota
  // When the facility has no current contract and its latest one ended:
  // that end date; all its unheld data expires at the start of the day
  // after end + grace days (UTC).
  std::optional<std::string> contract_ended_on;   // "YYYY-MM-DD"
  std::optional<std::string> data_expires_at;     // UTC, with the grace
  std::optional<std::string> oldest_received_at;  // studies.last_received_at, UTC
  std::optional<std::string> newest_received_at;
  // Unheld studies whose expiry (expires_at, or the contract end + grace
  // when earlier) falls in (now, now + window]: count and bytes.
  std::int64_t expiring_studies = 0;
  std::int64_t expiring_bytes = 0;
  // Unheld studies already past their expiry, not yet removed.
  std::int64_t overdue_studies = 0;
  std::int64_t overdue_bytes = 0;
};

// One report per facility (only `facility` when given), by name, as of
// `now` (hokan::Now()) with an expiry window of `window_days`. Throws
// hokan::Error(kInvalidInput) naming --facility for an unknown facility;
// hokan::Error(kDatabase) when PostgreSQL fails.
std::vector<FacilityUsageReport> ReportUsage(Database& database,
                                             const std::optional<std::string>& facility,
                                             TimePoint now, int window_days);

}  // namespace hokan::archive
