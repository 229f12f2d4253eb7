#include "archive/index/retention_index.h"

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/retention_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {

namespace {

// Studies due at $1 (UTC now), of facility $2 (NULL: all), not in $3
// (bigint[]), at most $4. See RetentionIndex::SelectDue.
constexpr const char* kSelectDueSql = R"sql(
WITH params AS (
  SELECT $1::timestamptz AS now, ($1::timestamptz AT TIME ZONE 'UTC')::date AS today
), in_flight AS (
  SELECT study_id FROM expiry_deletions WHERE state IN ('pending', 'cancelled')
), expired AS (
  SELECT s.id, 1 AS priority, 'expired' AS cause, NULL::bigint AS contract_id,
         NULL::date AS ends_on, NULL::integer AS grace_days, NULL::bigint AS used_bytes,
         NULL::bigint AS quota_bytes, s.expires_at AS sort_time
    FROM studies s, params p
   WHERE s.expires_at <= p.now AND NOT s.legal_hold
     AND ($2::bigint IS NULL OR s.facility_id = $2)
     AND NOT (s.id = ANY ($3::bigint[]))
     AND NOT EXISTS (SELECT 1 FROM in_flight d WHERE d.study_id = s.id)
   ORDER BY s.expires_at, s.id
   LIMIT $4
), ended AS (
  SELECT f.id AS facility_id, last.id AS contract_id, last.ends_on, last.expiry_grace_days
    FROM facilities f, params p,
         LATERAL (SELECT c.id, c.ends_on, c.expiry_grace_days FROM contracts c
                   WHERE c.facility_id = f.id AND c.superseded_at IS NULL
                   ORDER BY c.ends_on DESC LIMIT 1) last
   WHERE ($2::bigint IS NULL OR f.id = $2)
     AND last.ends_on + last.expiry_grace_days < p.today
     AND NOT EXISTS (SELECT 1 FROM contracts c
                      WHERE c.facility_id = f.id AND c.superseded_at IS NULL
                        AND p.today BETWEEN c.starts_on AND c.ends_on)
), ended_studies AS (
  SELECT s.id, 2 AS priority, 'contract_ended' AS cause, e.contract_id, e.ends_on,
         e.expiry_grace_days AS grace_days, NULL::bigint AS used_bytes,
         NULL::bigint AS quota_bytes, s.last_received_at AS sort_time
    FROM ended e JOIN studies s ON s.facility_id = e.facility_id
   WHERE NOT s.legal_hold
     AND NOT (s.id = ANY ($3::bigint[]))
     AND NOT EXISTS (SELECT 1 FROM in_flight d WHERE d.study_id = s.id)
   ORDER BY s.id
   LIMIT $4
), over_quota AS (
  -- Usage minus what deletions in flight are about to free.
  SELECT u.facility_id, c.quota_bytes, u.used_bytes AS reported_bytes,
         u.used_bytes - COALESCE((SELECT sum(s.size_bytes) FROM expiry_deletions d
                                    JOIN studies s ON s.id = d.study_id
                                   WHERE d.facility_id = u.facility_id
                                     AND d.state = 'pending'), 0) AS used_bytes
    FROM facility_usage u
    JOIN contracts c ON c.facility_id = u.facility_id AND c.superseded_at IS NULL
    CROSS JOIN params p
   WHERE p.today BETWEEN c.starts_on AND c.ends_on
     AND c.over_quota = 'recycle' AND u.used_bytes > c.quota_bytes
     AND ($2::bigint IS NULL OR u.facility_id = $2)
), oldest AS (
  -- The studies to recycle are a prefix of the oldest: take at most $4 of
  -- them per facility and keep those needed to get under the quota.
  SELECT o.facility_id, o.quota_bytes, o.reported_bytes, o.used_bytes, s.id,
         s.last_received_at,
         COALESCE(sum(s.size_bytes) OVER (PARTITION BY o.facility_id
                                          ORDER BY s.last_received_at NULLS FIRST, s.id
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                  0) AS freed_before
    FROM over_quota o,
         LATERAL (SELECT s.id, s.size_bytes, s.last_received_at FROM studies s
                   WHERE s.facility_id = o.facility_id AND NOT s.legal_hold
                     AND NOT (s.id = ANY ($3::bigint[]))
                     AND NOT EXISTS (SELECT 1 FROM in_flight d WHERE d.study_id = s.id)
                   ORDER BY s.last_received_at NULLS FIRST, s.id
                   LIMIT $4) s
), recycled AS (
  SELECT id, 3 AS priority, 'over_quota' AS cause, NULL::bigint AS contract_id,
         NULL::date AS ends_on, NULL::integer AS grace_days, reported_bytes AS used_bytes,
         quota_bytes, last_received_at AS sort_time
    FROM oldest
   WHERE used_bytes - freed_before > quota_bytes
), due AS (
  SELECT DISTINCT ON (id) * FROM (
    SELECT * FROM expired UNION ALL SELECT * FROM ended_studies UNION ALL SELECT * FROM recycled
  ) every ORDER BY id, priority
), chosen AS (
  SELECT * FROM due ORDER BY priority, sort_time NULLS FIRST, id LIMIT $4
)
SELECT s.id, s.facility_id, f.name, s.study_instance_uid, c.cause,
       COALESCE(to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       c.contract_id, COALESCE(to_char(c.ends_on, 'YYYY-MM-DD'), ''), c.grace_days,
       c.used_bytes, c.quota_bytes, counts.instances, counts.bytes
  FROM chosen c
  JOIN studies s ON s.id = c.id
  JOIN facilities f ON f.id = s.facility_id,
       LATERAL (SELECT count(i.id) AS instances, COALESCE(sum(i.size_bytes), 0) AS bytes
                  FROM series e JOIN instances i ON i.series_fk = e.id
                 WHERE e.study_fk = s.id) counts
 ORDER BY c.priority, c.sort_time NULLS FIRST, c.id
)sql";

template <typename T>
std::optional<T> Optional(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<T>();
}

}  // namespace

RetentionIndex::RetentionIndex(Database& database) : database_(database) {}

std::optional<std::int64_t> RetentionIndex::FacilityId(const std::string& name) {
  return FindFacilityId(database_, name);
}

std::vector<ExpiryCandidate> RetentionIndex::SelectDue(const ExpirySelection& selection) {
  return sql::ReadOnly(
      database_, "select the studies due for expiry", [&](pqxx::read_transaction& transaction) {
        const pqxx::result result = transaction.exec_params(
            kSelectDueSql, FormatUtc(selection.now), selection.facility_id,
            BigintArrayLiteral(selection.excluded_study_ids), selection.limit);
        std::vector<ExpiryCandidate> candidates;
        candidates.reserve(result.size());
        for (const auto& row : result) {
          ExpiryCandidate candidate;
          candidate.study_id = row[0].as<std::int64_t>();
          candidate.facility_id = row[1].as<std::int64_t>();
          candidate.facility_name = row[2].as<std::string>();
          candidate.study_instance_uid = row[3].as<std::string>();
          const auto cause = ParseCause(row[4].as<std::string>());
          if (!cause) throw Error(ErrorCode::kInternal, "expiry selection: unknown cause");
          candidate.facts.cause = *cause;
          candidate.expires_at = row[5].as<std::string>();
          candidate.facts.expires_at = candidate.expires_at;
          candidate.facts.contract_id = Optional<std::int64_t>(row[6]).value_or(0);
          candidate.facts.contract_ends_on = row[7].as<std::string>();
          candidate.facts.grace_days = Optional<int>(row[8]).value_or(0);
          candidate.facts.used_bytes = Optional<std::int64_t>(row[9]).value_or(0);
          candidate.facts.quota_bytes = Optional<std::int64_t>(row[10]).value_or(0);
          candidate.instances = row[11].as<std::int64_t>();
          candidate.bytes = row[12].as<std::int64_t>();
          candidates.push_back(std::move(candidate));
        }
        return candidates;
      });
}

std::optional<std::int64_t> RetentionIndex::Claim(const ExpiryCandidate& candidate,
                                                  const std::string& reason,
                                                  const std::string& actor) {
  return sql::ReadWrite(
      database_, fmt::format("claim study {} for deletion", candidate.study_instance_uid),
      [&](pqxx::work& transaction) -> std::optional<std::int64_t> {
        const pqxx::result claimed = transaction.exec_params(
            "INSERT INTO expiry_deletions (study_id, facility_id, study_instance_uid, cause, "
            "                              reason, actor, created_at) "
            "SELECT s.id, s.facility_id, s.study_instance_uid, $2, $3, $4, $5::timestamptz "
            "  FROM studies s WHERE s.id = $1 AND NOT s.legal_hold "
            "ON CONFLICT (study_id) WHERE state IN ('pending', 'cancelled') DO NOTHING "
            "RETURNING id",
            candidate.study_id, CauseName(candidate.facts.cause), reason, actor,
            FormatUtcMicroseconds(Now()));
        if (claimed.empty()) return std::nullopt;
        const auto deletion_id = claimed[0][0].as<std::int64_t>();
        transaction.exec_params(
            "INSERT INTO expiry_deletion_files (deletion_id, instance_id, relative_path) "
            "SELECT $1, i.id, i.relative_path FROM series e "
            "  JOIN instances i ON i.series_fk = e.id WHERE e.study_fk = $2",
            deletion_id, candidate.study_id);
        return deletion_id;
      });
}

std::vector<std::int64_t> RetentionIndex::Unsettled(
    const std::optional<std::int64_t>& facility_id) {
  return sql::ReadOnly(database_, "list unfinished expiry deletions",
                       [&](pqxx::read_transaction& transaction) {
                         const auto result = transaction.exec_params(
                             "SELECT id FROM expiry_deletions WHERE state <> 'finished' "
                             "AND ($1::bigint IS NULL OR facility_id = $1) ORDER BY id",
                             facility_id);
                         std::vector<std::int64_t> ids;
                         for (const auto& row : result) ids.push_back(row[0].as<std::int64_t>());
                         return ids;
                       });
}

std::unique_ptr<RetentionIndex::DeletionLock> RetentionIndex::Lock(std::int64_t deletion_id) {
  auto lease = database_.pool().Acquire();
  bool locked = false;
  try {
    pqxx::nontransaction session(lease.connection());
    locked = session
                 .exec_params("SELECT pg_try_advisory_lock($1, $2::bigint::bit(32)::integer)",
                              kDeletionLockClass, deletion_id)[0][0]
                 .as<bool>();
  } catch (const pqxx::broken_connection& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase,
                fmt::format("lock expiry deletion {}: {}", deletion_id, error.what()));
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase,
                fmt::format("lock expiry deletion {}: {}", deletion_id, error.what()));
  }
  if (!locked) return nullptr;
  return std::unique_ptr<DeletionLock>(
      new DeletionLock(std::make_unique<DeletionLock::Session>(std::move(lease)), deletion_id));
}

}  // namespace hokan::archive
