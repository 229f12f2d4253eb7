#include "archive/index/usage_report.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"
#include "archive/index/database.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

template <typename Value>
std::optional<Value> OptionalField(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<Value>();
}

// $1 facility name or NULL, $2 now, $3 today (UTC date), $4 window days.
// `ended` is the facility's latest version not superseded when there is no
// current one and it ended before today; its data expires at the start of
// the day after ends_on + expiry_grace_days (as the expiry run decides:
// ends_on + grace < today).
constexpr const char* kUsageQuery = R"SQL(
SELECT f.name,
       COALESCE(u.used_bytes, 0), COALESCE(u.studies, 0), COALESCE(u.instances, 0),
       cur.id, cur.quota_bytes,
       ended.ends_on::text,
       to_char(ended.data_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(received.oldest AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(received.newest AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       expiry.expiring_studies, expiry.expiring_bytes, expiry.overdue_studies,
       expiry.overdue_bytes
  FROM facilities f
  LEFT JOIN facility_usage u ON u.facility_id = f.id
  LEFT JOIN LATERAL (
        SELECT c.id, c.quota_bytes FROM contracts c
         WHERE c.facility_id = f.id AND c.superseded_at IS NULL
           AND $3::date BETWEEN c.starts_on AND c.ends_on) cur ON true
  LEFT JOIN LATERAL (
        SELECT latest.ends_on,
               (latest.ends_on + latest.expiry_grace_days + 1)::timestamp AT TIME ZONE 'UTC'
                   AS data_expires_at
          FROM (SELECT c.ends_on, c.expiry_grace_days FROM contracts c
                 WHERE c.facility_id = f.id AND c.superseded_at IS NULL
                 ORDER BY c.ends_on DESC LIMIT 1) latest
         WHERE cur.id IS NULL AND latest.ends_on < $3::date) ended ON true
  LEFT JOIN LATERAL (
        SELECT min(s.last_received_at) AS oldest, max(s.last_received_at) AS newest
          FROM studies s WHERE s.facility_id = f.id) received ON true
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE e.at > $2::timestamptz
                                  AND e.at <= $2::timestamptz + make_interval(days => $4))
                   AS expiring_studies,
               COALESCE(sum(e.size_bytes) FILTER (
                   WHERE e.at > $2::timestamptz
                     AND e.at <= $2::timestamptz + make_interval(days => $4)), 0)
                   AS expiring_bytes,
               count(*) FILTER (WHERE e.at <= $2::timestamptz) AS overdue_studies,
               COALESCE(sum(e.size_bytes) FILTER (WHERE e.at <= $2::timestamptz), 0)
                   AS overdue_bytes
          FROM (SELECT LEAST(s.expires_at, ended.data_expires_at) AS at, s.size_bytes
                  FROM studies s
                 WHERE s.facility_id = f.id AND NOT s.legal_hold
                   AND (ended.data_expires_at IS NOT NULL
                        OR s.expires_at <= $2::timestamptz + make_interval(days => $4))) e
         WHERE e.at IS NOT NULL) expiry ON true
 WHERE $1::text IS NULL OR f.name = $1
 ORDER BY f.name
)SQL";

}  // namespace

std::vector<FacilityUsageReport> ReportUsage(Database& database,
                                             const std::optional<std::string>& facility,
                                             TimePoint now, int window_days) {
  return sql::ReadOnly(database, "report usage", [&](pqxx::read_transaction& transaction) {
    const auto result = transaction.exec_params(kUsageQuery, facility, FormatUtc(now),
                                                FormatIsoDate(DateOf(now)), window_days);
    if (facility && result.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("--facility: unknown facility '{}'", *facility));
    }
    std::vector<FacilityUsageReport> reports;
    for (const auto& row : result) {
      FacilityUsageReport report;
      report.facility = row[0].as<std::string>();
      report.used_bytes = row[1].as<std::int64_t>();
      report.studies = row[2].as<std::int64_t>();
      report.instances = row[3].as<std::int64_t>();
      report.contract_id = OptionalField<std::int64_t>(row[4]);
      report.quota_bytes = OptionalField<std::int64_t>(row[5]);
      report.contract_ended_on = OptionalField<std::string>(row[6]);
      report.data_expires_at = OptionalField<std::string>(row[7]);
      report.oldest_received_at = OptionalField<std::string>(row[8]);
      report.newest_received_at = OptionalField<std::string>(row[9]);
      report.expiring_studies = row[10].as<std::int64_t>();
      report.expiring_bytes = row[11].as<std::int64_t>();
      report.overdue_studies = row[12].as<std::int64_t>();
      report.overdue_bytes = row[13].as<std::int64_t>();
      reports.push_back(std::move(report));
    }
    return reports;
  });
}

}  // namespace hokan::archive
