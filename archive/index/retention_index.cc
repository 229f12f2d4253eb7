#include "archive/index/retention_index.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"

namespace hokan::archive {
namespace {

// Session advisory lock class of expiry deletions ("HKEX"); the second key
// is the deletion id (mod 2^32: a collision only makes a node skip).
constexpr int kDeletionLockClass = 0x484B4558;

// The deleting transaction waits at most this long for a row lock (an
// ingest into the same study), less than PostgreSQL's deadlock_timeout, so
// a lock cycle with an ingest always ends with us giving way and retrying.
constexpr const char* kCommitLockTimeout = "SET LOCAL lock_timeout = '500ms'";
constexpr int kCommitAttempts = 5;

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

// Why deletion $1 (pending) may not go ahead at $2; NULL while it is due.
// The study is gone: NULL too (its rows are gone already; nothing to keep).
constexpr const char* kWhyNotDueSql = R"sql(
WITH params AS (
  SELECT $2::timestamptz AS now, ($2::timestamptz AT TIME ZONE 'UTC')::date AS today
)
SELECT CASE
  WHEN s.id IS NULL THEN NULL
  WHEN s.legal_hold THEN 'a legal hold was set'
  WHEN d.cause = 'expired' AND (s.expires_at IS NULL OR s.expires_at > p.now)
    THEN 'its expiry date moved'
  WHEN d.cause = 'contract_ended' AND (
         EXISTS (SELECT 1 FROM contracts c
                  WHERE c.facility_id = d.facility_id AND c.superseded_at IS NULL
                    AND p.today BETWEEN c.starts_on AND c.ends_on)
         OR COALESCE((SELECT c.ends_on + c.expiry_grace_days FROM contracts c
                       WHERE c.facility_id = d.facility_id AND c.superseded_at IS NULL
                       ORDER BY c.ends_on DESC LIMIT 1) >= p.today, true))
    THEN 'the facility has a contract again'
  WHEN d.cause = 'over_quota' AND NOT EXISTS (
         SELECT 1 FROM contracts c JOIN facility_usage u ON u.facility_id = c.facility_id
          WHERE c.facility_id = d.facility_id AND c.superseded_at IS NULL
            AND p.today BETWEEN c.starts_on AND c.ends_on
            AND c.over_quota = 'recycle' AND u.used_bytes > c.quota_bytes)
    THEN 'the facility is no longer over its quota'
  END
  FROM expiry_deletions d CROSS JOIN params p
  LEFT JOIN studies s ON s.id = d.study_id
 WHERE d.id = $1
)sql";

// Deletes the listed instance rows of deletion $1 (still at their listed
// path) and returns how many per series, with their bytes.
constexpr const char* kDeleteInstancesSql = R"sql(
WITH gone AS (
  DELETE FROM instances i USING expiry_deletion_files f
   WHERE f.deletion_id = $1 AND i.id = f.instance_id AND i.relative_path = f.relative_path
  RETURNING i.series_fk, i.size_bytes
)
SELECT series_fk, count(*), sum(size_bytes) FROM gone GROUP BY series_fk
)sql";

std::string BigintArrayLiteral(const std::vector<std::int64_t>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ",";
    literal += std::to_string(values[i]);
  }
  return literal + "}";
}

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
  return WithConnection(database_, "select the studies due for expiry", [&](pqxx::connection&
                                                                              connection) {
    pqxx::read_transaction transaction(connection);
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
  return WithConnection(
      database_, fmt::format("claim study {} for deletion", candidate.study_instance_uid),
      [&](pqxx::connection& connection) -> std::optional<std::int64_t> {
        pqxx::work transaction(connection);
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
        transaction.commit();
        return deletion_id;
      });
}

std::vector<std::int64_t> RetentionIndex::Unsettled(
    const std::optional<std::int64_t>& facility_id) {
  return WithConnection(database_, "list unfinished expiry deletions",
                        [&](pqxx::connection& connection) {
                          pqxx::read_transaction transaction(connection);
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
  auto lease = database_.Acquire();
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
  return std::unique_ptr<DeletionLock>(new DeletionLock(std::move(lease), deletion_id));
}

RetentionIndex::DeletionLock::DeletionLock(Database::Lease lease, std::int64_t deletion_id)
    : lease_(std::move(lease)), deletion_id_(deletion_id) {}

RetentionIndex::DeletionLock::~DeletionLock() {
  try {
    pqxx::nontransaction session(lease_.connection());
    session.exec_params("SELECT pg_advisory_unlock($1, $2::bigint::bit(32)::integer)",
                        kDeletionLockClass, deletion_id_);
  } catch (const std::exception& error) {
    // The session lock dies with the session: drop the connection.
    lease_.MarkBroken();
    Log(LogLevel::kWarn, "expiry deletion {}: unlock failed ({}); connection dropped",
        deletion_id_, error.what());
  }
}

template <typename Work>
auto RetentionIndex::DeletionLock::Run(const std::string& what, Work&& work) {
  const std::string context = fmt::format("expiry deletion {}: {}", deletion_id_, what);
  for (int attempt = 1;; ++attempt) {
    try {
      return work(lease_.connection());
    } catch (const pqxx::broken_connection& error) {
      lease_.MarkBroken();
      throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", context, error.what()));
    } catch (const pqxx::sql_error& error) {
      // A lock an ingest holds (lock_timeout), a deadlock or a
      // serialization failure: give way, then try again.
      const std::string state = error.sqlstate();
      const bool transient = state == "55P03" || state == "40P01" || state == "40001";
      if (!transient || attempt >= kCommitAttempts) {
        throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", context, error.what()));
      }
      Log(LogLevel::kInfo, "{}: {}; retrying", context, error.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    } catch (const pqxx::failure& error) {
      throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", context, error.what()));
    }
  }
}

std::optional<ExpiryDeletion> RetentionIndex::DeletionLock::Load() {
  return Run("load", [&](pqxx::connection& connection) -> std::optional<ExpiryDeletion> {
    pqxx::read_transaction transaction(connection);
    const auto row = transaction.exec_params(
        "SELECT study_id, facility_id, study_instance_uid, cause, reason, actor, state "
        "  FROM expiry_deletions WHERE id = $1",
        deletion_id_);
    if (row.empty()) return std::nullopt;
    ExpiryDeletion deletion;
    deletion.id = deletion_id_;
    deletion.study_id = row[0][0].as<std::int64_t>();
    deletion.facility_id = row[0][1].as<std::int64_t>();
    deletion.study_instance_uid = row[0][2].as<std::string>();
    deletion.cause = ParseCause(row[0][3].as<std::string>()).value_or(ExpiryCause::kExpired);
    deletion.reason = row[0][4].as<std::string>();
    deletion.actor = row[0][5].as<std::string>();
    deletion.state = row[0][6].as<std::string>();
    const auto files = transaction.exec_params(
        "SELECT instance_id, relative_path FROM expiry_deletion_files WHERE deletion_id = $1 "
        "ORDER BY relative_path",
        deletion_id_);
    for (const auto& file : files) {
      deletion.files.push_back({file[0].as<std::int64_t>(), file[1].as<std::string>()});
    }
    return deletion;
  });
}

std::optional<std::string> RetentionIndex::DeletionLock::WhyNotDue(TimePoint now) {
  return Run("check", [&](pqxx::connection& connection) -> std::optional<std::string> {
    pqxx::read_transaction transaction(connection);
    const auto result = transaction.exec_params(kWhyNotDueSql, deletion_id_, FormatUtc(now));
    if (result.empty() || result[0][0].is_null()) return std::nullopt;
    return result[0][0].as<std::string>();
  });
}

DeletionCommit RetentionIndex::DeletionLock::Commit(TimePoint now) {
  return Run("delete the rows", [&](pqxx::connection& connection) {
    DeletionCommit outcome;
    pqxx::work transaction(connection);
    transaction.exec(kCommitLockTimeout);
    const auto deletion = transaction.exec_params(
        "SELECT study_id, facility_id, study_instance_uid, cause, reason, actor, state "
        "  FROM expiry_deletions WHERE id = $1 FOR UPDATE",
        deletion_id_);
    if (deletion.empty() || deletion[0][6].as<std::string>() != "pending") {
      throw Error(ErrorCode::kInternal,
                  fmt::format("expiry deletion {} is not pending", deletion_id_));
    }
    const auto study_id = deletion[0][0].as<std::int64_t>();
    const auto facility_id = deletion[0][1].as<std::int64_t>();
    const auto study_uid = deletion[0][2].as<std::string>();
    const auto cause = ParseCause(deletion[0][3].as<std::string>()).value_or(ExpiryCause::kExpired);

    // Lock in ingest's order (patient, study, series), so that a store
    // into this study waits for us or we for it, and neither adds nor
    // sees half a change.
    std::optional<std::int64_t> patient_id;
    if (const auto study = transaction.exec_params("SELECT patient_fk FROM studies WHERE id = $1",
                                                   study_id);
        !study.empty()) {
      patient_id = study[0][0].as<std::int64_t>();
      transaction.exec_params("SELECT 1 FROM patients WHERE id = $1 FOR UPDATE", *patient_id);
      const auto locked = transaction.exec_params(
          "SELECT patient_fk FROM studies WHERE id = $1 FOR UPDATE", study_id);
      if (locked.empty()) {
        patient_id.reset();
      } else if (locked[0][0].as<std::int64_t>() != *patient_id) {
        patient_id = locked[0][0].as<std::int64_t>();
        transaction.exec_params("SELECT 1 FROM patients WHERE id = $1 FOR UPDATE", *patient_id);
      }
      transaction.exec_params("SELECT 1 FROM series WHERE study_fk = $1 FOR UPDATE", study_id);
    }

    const auto why_not = transaction.exec_params(kWhyNotDueSql, deletion_id_, FormatUtc(now));
    if (!why_not.empty() && !why_not[0][0].is_null()) {
      outcome.cancel_note = why_not[0][0].as<std::string>();
      transaction.exec_params(
          "UPDATE expiry_deletions SET state = 'cancelled', note = $2 WHERE id = $1",
          deletion_id_, outcome.cancel_note);
      transaction.commit();
      return outcome;
    }

    const pqxx::result per_series = transaction.exec_params(kDeleteInstancesSql, deletion_id_);
    std::vector<std::int64_t> touched_series;
    for (const auto& row : per_series) {
      touched_series.push_back(row[0].as<std::int64_t>());
      outcome.instances += row[1].as<std::int64_t>();
      outcome.bytes += row[2].as<std::int64_t>();
    }
    if (patient_id) {
      // Series left empty go; the others keep exact counters.
      transaction.exec_params(
          "DELETE FROM series e WHERE e.study_fk = $1 "
          "AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.series_fk = e.id)",
          study_id);
      transaction.exec_params(
          "UPDATE series e SET number_of_instances = "
          "       (SELECT count(*) FROM instances i WHERE i.series_fk = e.id) "
          " WHERE e.id = ANY ($1::bigint[])",
          BigintArrayLiteral(touched_series));
      const auto left = transaction.exec_params(
          "SELECT count(DISTINCT e.id), count(i.id), COALESCE(sum(i.size_bytes), 0), "
          "       max(i.received_at) "
          "  FROM series e LEFT JOIN instances i ON i.series_fk = e.id WHERE e.study_fk = $1",
          study_id);
      outcome.instances_kept = left[0][1].as<std::int64_t>();
      if (outcome.instances_kept == 0) {
        transaction.exec_params("DELETE FROM series WHERE study_fk = $1", study_id);
        transaction.exec_params("DELETE FROM studies WHERE id = $1", study_id);
        transaction.exec_params(
            "DELETE FROM patients p WHERE p.id = $1 "
            "AND NOT EXISTS (SELECT 1 FROM studies s WHERE s.patient_fk = p.id)",
            *patient_id);
        outcome.study_removed = true;
      } else {
        transaction.exec_params(
            "UPDATE studies SET number_of_series = $2, number_of_instances = $3, "
            "       size_bytes = $4, updated_at = $5::timestamptz WHERE id = $1",
            study_id, left[0][0].as<std::int64_t>(), outcome.instances_kept,
            left[0][2].as<std::int64_t>(), FormatUtcMicroseconds(now));
      }
    }
    // Usage never goes negative, even if its counters were behind.
    transaction.exec_params(
        "UPDATE facility_usage SET used_bytes = GREATEST(used_bytes - $2, 0), "
        "       instances = GREATEST(instances - $3, 0), "
        "       studies = GREATEST(studies - $4, 0), updated_at = $5::timestamptz "
        " WHERE facility_id = $1",
        facility_id, outcome.bytes, outcome.instances, outcome.study_removed ? 1 : 0,
        FormatUtcMicroseconds(now));
    if (outcome.instances > 0 || outcome.study_removed) {
      AuditEntry entry;
      entry.actor = deletion[0][5].as<std::string>();
      entry.action = AuditAction(cause);
      entry.facility_id = facility_id;
      entry.subject = study_uid;
      entry.detail = fmt::format("{} instance{}, {} bytes deleted", outcome.instances,
                                 outcome.instances == 1 ? "" : "s", outcome.bytes);
      if (outcome.instances_kept > 0) {
        entry.detail += fmt::format("; {} instance{} received meanwhile kept",
                                    outcome.instances_kept,
                                    outcome.instances_kept == 1 ? "" : "s");
      }
      entry.reason = deletion[0][4].as<std::string>();
      RecordAudit(transaction, entry);
    }
    transaction.exec_params(
        "UPDATE expiry_deletions SET state = 'deleted', instances_deleted = $2, "
        "       bytes_deleted = $3 WHERE id = $1",
        deletion_id_, outcome.instances, outcome.bytes);
    transaction.commit();
    outcome.deleted = true;
    return outcome;
  });
}

void RetentionIndex::DeletionLock::Cancel(const std::string& note) {
  Run("cancel", [&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    transaction.exec_params(
        "UPDATE expiry_deletions SET state = 'cancelled', note = $2 "
        " WHERE id = $1 AND state = 'pending'",
        deletion_id_, note);
    transaction.commit();
  });
}

std::vector<std::string> RetentionIndex::DeletionLock::FilesToRestore() {
  return Run("list the files to restore", [&](pqxx::connection& connection) {
    pqxx::read_transaction transaction(connection);
    const auto result = transaction.exec_params(
        "SELECT f.relative_path FROM expiry_deletion_files f "
        "  JOIN instances i ON i.id = f.instance_id AND i.relative_path = f.relative_path "
        " WHERE f.deletion_id = $1 ORDER BY f.relative_path",
        deletion_id_);
    std::vector<std::string> paths;
    for (const auto& row : result) paths.push_back(row[0].as<std::string>());
    return paths;
  });
}

void RetentionIndex::DeletionLock::Finish() {
  Run("finish", [&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    transaction.exec_params(
        "UPDATE expiry_deletions SET state = 'finished', settled_at = $2::timestamptz "
        " WHERE id = $1 AND state IN ('deleted', 'cancelled')",
        deletion_id_, FormatUtcMicroseconds(Now()));
    transaction.exec_params("DELETE FROM expiry_deletion_files WHERE deletion_id = $1",
                            deletion_id_);
    transaction.commit();
  });
}

}  // namespace hokan::archive
