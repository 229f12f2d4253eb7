#include "archive/index/contract_admin_patients.h"

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

void CheckPatientId(const std::string& patient_id) {
  if (patient_id.find_first_not_of(' ') == std::string::npos) {
    throw Error(ErrorCode::kInvalidInput, "--patient-id must not be empty");
  }
  if (patient_id.size() > 64) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("--patient-id '{}' is longer than 64 characters", patient_id));
  }
}

}  // namespace

PatientChoices::PatientChoices(Database& database) : database_(database) {}

std::string PatientChoices::Record(const std::string& facility, const std::string& patient_id,
                                   const std::string& choice, const std::string& actor,
                                   const std::string& reason) {
  CheckPatientId(patient_id);
  if (choice != "opt_in" && choice != "opt_out") {
    throw Error(ErrorCode::kInternal, fmt::format("unknown patient choice '{}'", choice));
  }
  return sql::ReadWrite(
      database_, fmt::format("record {} of patient '{}'", choice, patient_id),
      [&](pqxx::work& transaction) {
        const std::int64_t facility_id = FacilityIdOf(transaction, facility);
        const auto earlier = transaction.exec_params(
            "SELECT choice FROM patient_choices WHERE facility_id = $1 AND patient_id = $2 "
            "FOR UPDATE",
            facility_id, patient_id);
        const std::string before = earlier.empty() ? "" : earlier[0][0].as<std::string>();
        transaction.exec_params(
            "INSERT INTO patient_choices (facility_id, patient_id, choice, recorded_by, reason, "
            "                             recorded_at) "
            "VALUES ($1, $2, $3, $4, $5, $6::timestamptz) "
            "ON CONFLICT (facility_id, patient_id) DO UPDATE "
            "   SET choice = EXCLUDED.choice, recorded_at = EXCLUDED.recorded_at, "
            "       recorded_by = EXCLUDED.recorded_by, reason = EXCLUDED.reason",
            facility_id, patient_id, choice, actor, reason, FormatUtcMicroseconds(Now()));
        RecordAudit(transaction,
                    AuditEntry{actor, "patient." + choice, facility_id,
                               fmt::format("patient {}", patient_id),
                               before.empty() ? "no earlier choice" : "was " + before, reason});
        return before;
      });
}

void PatientChoices::Clear(const std::string& facility, const std::string& patient_id,
                           const std::string& actor, const std::string& reason) {
  CheckPatientId(patient_id);
  sql::ReadWrite(
      database_, fmt::format("clear the choice of patient '{}'", patient_id),
      [&](pqxx::work& transaction) {
        const std::int64_t facility_id = FacilityIdOf(transaction, facility);
        const auto removed = transaction.exec_params(
            "DELETE FROM patient_choices WHERE facility_id = $1 AND patient_id = $2 "
            "RETURNING choice",
            facility_id, patient_id);
        if (removed.empty()) {
          throw Error(
              ErrorCode::kInvalidInput,
              fmt::format("--patient-id: patient '{}' of facility '{}' has no recorded choice",
                          patient_id, facility));
        }
        RecordAudit(transaction, AuditEntry{actor, "patient.clear", facility_id,
                                            fmt::format("patient {}", patient_id),
                                            "was " + removed[0][0].as<std::string>(), reason});
      });
}

std::vector<PatientChoiceRow> PatientChoices::List(const std::string& facility) {
  return sql::ReadOnly(database_, "list patient choices", [&](pqxx::read_transaction& transaction) {
    const std::int64_t facility_id = FacilityIdOf(transaction, facility);
    const auto result = transaction.exec_params(
        "SELECT patient_id, choice, "
        "       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "       recorded_by, reason "
        "  FROM patient_choices WHERE facility_id = $1 ORDER BY patient_id",
        facility_id);
    std::vector<PatientChoiceRow> rows;
    for (const auto& row : result) {
      rows.push_back(PatientChoiceRow{row[0].as<std::string>(), row[1].as<std::string>(),
                                      row[2].as<std::string>(), row[3].as<std::string>(),
                                      row[4].as<std::string>()});
    }
    return rows;
  });
}

}  // namespace hokan::archive
