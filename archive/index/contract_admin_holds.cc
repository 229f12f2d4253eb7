#include "archive/index/contract_admin_holds.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

std::int64_t FacilityIdOf(pqxx::transaction_base& transaction, const std::string& name) {
  return RequireFacilityId(transaction, name, "--facility: ");
}

struct StudyHold {
  bool held = false;
  std::string reason;
};

// The study's hold, its row locked for the change.
StudyHold LockStudy(pqxx::transaction_base& transaction, std::int64_t facility_id,
                    const std::string& facility, const std::string& study_instance_uid) {
  const auto result = transaction.exec_params(
      "SELECT legal_hold, hold_reason FROM studies "
      " WHERE facility_id = $1 AND study_instance_uid = $2 FOR UPDATE",
      facility_id, study_instance_uid);
  if (result.empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("--study: facility '{}' has no study '{}'",
                                                      facility, study_instance_uid));
  }
  return StudyHold{result[0][0].as<bool>(), result[0][1].as<std::string>()};
}

}  // namespace

LegalHolds::LegalHolds(Database& database) : database_(database) {}

void LegalHolds::Set(const std::string& facility, const std::string& study_instance_uid,
                     const std::string& reason, const std::string& actor) {
  if (reason.find_first_not_of(" \t") == std::string::npos) {
    throw Error(ErrorCode::kInvalidInput, "--reason is required to put a study on hold");
  }
  sql::ReadWrite(
      database_, fmt::format("hold study {}", study_instance_uid), [&](pqxx::work& transaction) {
        const std::int64_t facility_id = FacilityIdOf(transaction, facility);
        const StudyHold before = LockStudy(transaction, facility_id, facility, study_instance_uid);
        transaction.exec_params(
            "UPDATE studies SET legal_hold = true, hold_reason = $3, updated_at = $4::timestamptz "
            " WHERE facility_id = $1 AND study_instance_uid = $2",
            facility_id, study_instance_uid, reason, FormatUtcMicroseconds(Now()));
        RecordAudit(
            transaction,
            AuditEntry{
                actor, "hold.set", facility_id, study_instance_uid,
                before.held ? fmt::format("already held; reason was '{}'", before.reason) : "held",
                reason});
      });
}

void LegalHolds::Release(const std::string& facility, const std::string& study_instance_uid,
                         const std::string& reason, const std::string& actor) {
  sql::ReadWrite(
      database_, fmt::format("release study {}", study_instance_uid), [&](pqxx::work& transaction) {
        const std::int64_t facility_id = FacilityIdOf(transaction, facility);
        const StudyHold before = LockStudy(transaction, facility_id, facility, study_instance_uid);
        if (!before.held) {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("--study: study '{}' of facility '{}' is not on hold",
                                  study_instance_uid, facility));
        }
        transaction.exec_params(
            "UPDATE studies SET legal_hold = false, hold_reason = '', "
            "       updated_at = $3::timestamptz "
            " WHERE facility_id = $1 AND study_instance_uid = $2",
            facility_id, study_instance_uid, FormatUtcMicroseconds(Now()));
        RecordAudit(transaction, AuditEntry{actor, "hold.release", facility_id, study_instance_uid,
                                            fmt::format("was held: '{}'", before.reason), reason});
      });
}

std::vector<HeldStudy> LegalHolds::List(const std::optional<std::string>& facility) {
  return sql::ReadOnly(database_, "list legal holds", [&](pqxx::read_transaction& transaction) {
    std::optional<std::int64_t> facility_id;
    if (facility) facility_id = FacilityIdOf(transaction, *facility);
    const auto result = transaction.exec_params(
        "SELECT f.name, s.study_instance_uid, p.patient_id, s.study_date, s.hold_reason, "
        "       to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "  FROM studies s JOIN facilities f ON f.id = s.facility_id "
        "  JOIN patients p ON p.id = s.patient_fk "
        " WHERE s.legal_hold AND ($1::bigint IS NULL OR s.facility_id = $1) "
        " ORDER BY f.name, s.study_instance_uid",
        facility_id);
    std::vector<HeldStudy> rows;
    for (const auto& row : result) {
      HeldStudy held;
      held.facility = row[0].as<std::string>();
      held.study_instance_uid = row[1].as<std::string>();
      held.patient_id = row[2].as<std::string>();
      held.study_date = row[3].as<std::string>();
      held.hold_reason = row[4].as<std::string>();
      if (!row[5].is_null()) held.expires_at = row[5].as<std::string>();
      rows.push_back(std::move(held));
    }
    return rows;
  });
}

}  // namespace hokan::archive
