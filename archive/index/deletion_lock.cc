// RetentionIndex::DeletionLock: the work on one locked expiry deletion, on
// the connection that holds its session advisory lock.

#include "archive/index/retention_index.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/retention_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

// The deleting transaction waits at most this long for a row lock (an
// ingest into the same study), less than PostgreSQL's deadlock_timeout, so
// a lock cycle with an ingest always ends with us giving way and retrying.
constexpr const char* kCommitLockTimeout = "SET LOCAL lock_timeout = '500ms'";
constexpr int kCommitAttempts = 5;

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

// The deletion row, locked; hokan::Error(kInternal) unless it is pending.
// The columns DeletionOf reads, in its order.
constexpr const char* kDeletionColumns =
    "study_id, facility_id, study_instance_uid, cause, reason, actor, state";

// A row of kDeletionColumns (files not loaded).
ExpiryDeletion DeletionOf(std::int64_t deletion_id, const pqxx::row& row) {
  ExpiryDeletion deletion;
  deletion.id = deletion_id;
  deletion.study_id = row[0].as<std::int64_t>();
  deletion.facility_id = row[1].as<std::int64_t>();
  deletion.study_instance_uid = row[2].as<std::string>();
  deletion.cause = ParseCause(row[3].as<std::string>()).value_or(ExpiryCause::kExpired);
  deletion.reason = row[4].as<std::string>();
  deletion.actor = row[5].as<std::string>();
  deletion.state = row[6].as<std::string>();
  return deletion;
}

ExpiryDeletion LockPending(pqxx::work& transaction, std::int64_t deletion_id) {
  const auto row = transaction.exec_params(
      fmt::format("SELECT {} FROM expiry_deletions WHERE id = $1 FOR UPDATE", kDeletionColumns),
      deletion_id);
  if (row.empty() || row[0][6].as<std::string>() != "pending") {
    throw Error(ErrorCode::kInternal,
                fmt::format("expiry deletion {} is not pending", deletion_id));
  }
  return DeletionOf(deletion_id, row[0]);
}

// Locks the study's patient, study and series rows in ingest's order
// (patient, study, series), so that a store into this study waits for us
// or we for it, and neither adds nor sees half a change. Returns the
// study's patient; nullopt when the study is gone.
std::optional<std::int64_t> LockStudyRows(pqxx::work& transaction, std::int64_t study_id) {
  const auto study =
      transaction.exec_params("SELECT patient_fk FROM studies WHERE id = $1", study_id);
  if (study.empty()) return std::nullopt;
  std::optional<std::int64_t> patient_id = study[0][0].as<std::int64_t>();
  transaction.exec_params("SELECT 1 FROM patients WHERE id = $1 FOR UPDATE", *patient_id);
  const auto locked =
      transaction.exec_params("SELECT patient_fk FROM studies WHERE id = $1 FOR UPDATE", study_id);
  if (locked.empty()) {
    patient_id.reset();
  } else if (locked[0][0].as<std::int64_t>() != *patient_id) {
    patient_id = locked[0][0].as<std::int64_t>();
    transaction.exec_params("SELECT 1 FROM patients WHERE id = $1 FOR UPDATE", *patient_id);
  }
  transaction.exec_params("SELECT 1 FROM series WHERE study_fk = $1 FOR UPDATE", study_id);
  return patient_id;
}

// Deletes the deletion's listed instance rows, counting them in `outcome`;
// returns the series they were in.
std::vector<std::int64_t> DeleteInstanceRows(pqxx::work& transaction, std::int64_t deletion_id,
                                             DeletionCommit& outcome) {
  const pqxx::result per_series = transaction.exec_params(kDeleteInstancesSql, deletion_id);
  std::vector<std::int64_t> touched_series;
  for (const auto& row : per_series) {
    touched_series.push_back(row[0].as<std::int64_t>());
    outcome.instances += row[1].as<std::int64_t>();
    outcome.bytes += row[2].as<std::int64_t>();
  }
  return touched_series;
}

// Series left empty go; the others keep exact counters. A study left
// without instances goes with its series (and its patient when that has no
// other study); one with instances received since the claim is recounted.
void RemoveOrRecountStudy(pqxx::work& transaction, std::int64_t study_id, std::int64_t patient_id,
                          const std::vector<std::int64_t>& touched_series, TimePoint now,
                          DeletionCommit& outcome) {
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
        patient_id);
    outcome.study_removed = true;
  } else {
    transaction.exec_params(
        "UPDATE studies SET number_of_series = $2, number_of_instances = $3, "
        "       size_bytes = $4, updated_at = $5::timestamptz WHERE id = $1",
        study_id, left[0][0].as<std::int64_t>(), outcome.instances_kept,
        left[0][2].as<std::int64_t>(), FormatUtcMicroseconds(now));
  }
}

// A usage delta (schema 013); the facility_usage view never goes below 0.
void SubtractUsage(pqxx::work& transaction, std::int64_t facility_id, const DeletionCommit& outcome,
                   TimePoint now) {
  transaction.exec_params(
      "INSERT INTO facility_usage_deltas (facility_id, used_bytes, instances, studies, "
      "                                   recorded_at) "
      "VALUES ($1, -$2::bigint, -$3::bigint, -$4::bigint, $5::timestamptz)",
      facility_id, outcome.bytes, outcome.instances, outcome.study_removed ? 1 : 0,
      FormatUtcMicroseconds(now));
}

AuditEntry DeletionAudit(const ExpiryDeletion& deletion, const DeletionCommit& outcome) {
  AuditEntry entry;
  entry.actor = deletion.actor;
  entry.action = AuditAction(deletion.cause);
  entry.facility_id = deletion.facility_id;
  entry.subject = deletion.study_instance_uid;
  entry.detail = fmt::format("{} instance{}, {} bytes deleted", outcome.instances,
                             outcome.instances == 1 ? "" : "s", outcome.bytes);
  if (outcome.instances_kept > 0) {
    entry.detail += fmt::format("; {} instance{} received meanwhile kept", outcome.instances_kept,
                                outcome.instances_kept == 1 ? "" : "s");
  }
  entry.reason = deletion.reason;
  return entry;
}

// A transient conflict (a lock an ingest holds past lock_timeout, a
// deadlock, a serialization failure) gives way and tries again.
sql::TransactionPolicy DeletionPolicy(std::int64_t deletion_id, const std::string& what) {
  sql::TransactionPolicy policy{fmt::format("expiry deletion {}: {}", deletion_id, what)};
  policy.attempts = kCommitAttempts;
  policy.retry_lock_timeout = true;
  policy.pause = std::chrono::milliseconds(100);
  return policy;
}

}  // namespace

RetentionIndex::DeletionLock::DeletionLock(std::unique_ptr<Session> session,
                                           std::int64_t deletion_id)
    : session_(std::move(session)), deletion_id_(deletion_id) {}

RetentionIndex::DeletionLock::~DeletionLock() {
  try {
    pqxx::nontransaction session(session_->lease.connection());
    session.exec_params("SELECT pg_advisory_unlock($1, $2::bigint::bit(32)::integer)",
                        kDeletionLockClass, deletion_id_);
  } catch (const std::exception& error) {
    // The session lock dies with the session: drop the connection.
    session_->lease.MarkBroken();
    Log(LogLevel::kWarn, "expiry deletion {}: unlock failed ({}); connection dropped", deletion_id_,
        error.what());
  }
}

std::optional<ExpiryDeletion> RetentionIndex::DeletionLock::Load() {
  return sql::TransactOn<pqxx::read_transaction>(
      session_->lease, DeletionPolicy(deletion_id_, "load"),
      [&](pqxx::read_transaction& transaction) -> std::optional<ExpiryDeletion> {
        const auto row = transaction.exec_params(
            fmt::format("SELECT {} FROM expiry_deletions WHERE id = $1", kDeletionColumns),
            deletion_id_);
        if (row.empty()) return std::nullopt;
        ExpiryDeletion deletion = DeletionOf(deletion_id_, row[0]);
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
  return sql::TransactOn<pqxx::read_transaction>(
      session_->lease, DeletionPolicy(deletion_id_, "check"),
      [&](pqxx::read_transaction& transaction) -> std::optional<std::string> {
        const auto result = transaction.exec_params(kWhyNotDueSql, deletion_id_, FormatUtc(now));
        if (result.empty() || result[0][0].is_null()) return std::nullopt;
        return result[0][0].as<std::string>();
      });
}

DeletionCommit RetentionIndex::DeletionLock::Commit(TimePoint now) {
  // Safe to re-run: everything it changes is inside the transaction.
  return sql::TransactOn<pqxx::work>(
      session_->lease, DeletionPolicy(deletion_id_, "delete the rows"),
      [&](pqxx::work& transaction) {
        transaction.exec(kCommitLockTimeout);
        const ExpiryDeletion deletion = LockPending(transaction, deletion_id_);
        const std::optional<std::int64_t> patient_id =
            LockStudyRows(transaction, deletion.study_id);
        DeletionCommit outcome;
        const auto why_not = transaction.exec_params(kWhyNotDueSql, deletion_id_, FormatUtc(now));
        if (!why_not.empty() && !why_not[0][0].is_null()) {
          outcome.cancel_note = why_not[0][0].as<std::string>();
          transaction.exec_params(
              "UPDATE expiry_deletions SET state = 'cancelled', note = $2 WHERE id = $1",
              deletion_id_, outcome.cancel_note);
          return outcome;
        }
        const std::vector<std::int64_t> touched_series =
            DeleteInstanceRows(transaction, deletion_id_, outcome);
        if (patient_id) {
          RemoveOrRecountStudy(transaction, deletion.study_id, *patient_id, touched_series, now,
                               outcome);
        }
        SubtractUsage(transaction, deletion.facility_id, outcome, now);
        if (outcome.instances > 0 || outcome.study_removed) {
          RecordAudit(transaction, DeletionAudit(deletion, outcome));
        }
        transaction.exec_params(
            "UPDATE expiry_deletions SET state = 'deleted', instances_deleted = $2, "
            "       bytes_deleted = $3 WHERE id = $1",
            deletion_id_, outcome.instances, outcome.bytes);
        outcome.deleted = true;
        return outcome;
      });
}

void RetentionIndex::DeletionLock::Cancel(const std::string& note) {
  sql::TransactOn<pqxx::work>(session_->lease, DeletionPolicy(deletion_id_, "cancel"),
                              [&](pqxx::work& transaction) {
                                transaction.exec_params(
                                    "UPDATE expiry_deletions SET state = 'cancelled', note = $2 "
                                    " WHERE id = $1 AND state = 'pending'",
                                    deletion_id_, note);
                              });
}

std::vector<std::string> RetentionIndex::DeletionLock::FilesToRestore() {
  return sql::TransactOn<pqxx::read_transaction>(
      session_->lease, DeletionPolicy(deletion_id_, "list the files to restore"),
      [&](pqxx::read_transaction& transaction) {
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
  sql::TransactOn<pqxx::work>(
      session_->lease, DeletionPolicy(deletion_id_, "finish"), [&](pqxx::work& transaction) {
        transaction.exec_params(
            "UPDATE expiry_deletions SET state = 'finished', settled_at = $2::timestamptz "
            " WHERE id = $1 AND state IN ('deleted', 'cancelled')",
            deletion_id_, FormatUtcMicroseconds(Now()));
        transaction.exec_params("DELETE FROM expiry_deletion_files WHERE deletion_id = $1",
                                deletion_id_);
      });
}

}  // namespace hokan::archive
