#include "archive/index/storage_conditions_index.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"
#include "archive/index/storage_rules_admin.h"

namespace hokan::archive {
namespace {

CivilDate DateFromSql(const pqxx::field& field) {
  const std::string text = field.as<std::string>();  // YYYY-MM-DD (DateStyle ISO)
  const auto date = ParseDicomDate(text.substr(0, 4) + text.substr(5, 2) + text.substr(8, 2));
  if (!date) throw Error(ErrorCode::kInternal, fmt::format("unexpected date '{}'", text));
  return *date;
}

StoragePeriod StoredPeriod(const std::string& text, const std::string& owner) {
  try {
    return ParseStoragePeriod(text);
  } catch (const Error& error) {
    throw Error(ErrorCode::kInternal,
                fmt::format("{} has a storage period the archive cannot read: {}", owner,
                            error.what()));
  }
}


}  // namespace

StorageConditionsIndex::StorageConditionsIndex(Database& database) : database_(database) {}

StorageConditions StorageConditionsIndex::Load(std::int64_t facility_id, TimePoint now) {
  const CivilDate today = DateOf(now);
  const std::string today_text = fmt::format("{:04}-{:02}-{:02}", today.year, today.month,
                                             today.day);
  return sql::ReadOnly(
      database_, fmt::format("load the storage conditions of facility {}", facility_id),
      [&](pqxx::read_transaction& transaction) {
        StorageConditions conditions;
        const pqxx::result contract = transaction.exec_params(
            "SELECT id, service_period, starts_on::text, ends_on::text, data_kept, "
            "kept_modalities, "
            "       quota_bytes, over_quota, service_class, default_storage_period, "
            "       expiry_grace_days, backup_timing, "
            "       (EXTRACT(HOUR FROM nightly_at) * 60 + EXTRACT(MINUTE FROM nightly_at))::int, "
            "       exam_quiet_minutes "
            "  FROM contracts WHERE facility_id = $1 AND superseded_at IS NULL "
            "   AND $2::date BETWEEN starts_on AND ends_on",
            facility_id, today_text);
        if (!contract.empty()) {
          const pqxx::row row = contract[0];
          StorageContract c;
          c.id = row[0].as<std::int64_t>();
          c.service_period = row[1].as<std::string>();
          c.starts_on = DateFromSql(row[2]);
          c.ends_on = DateFromSql(row[3]);
          c.data_kept = row[4].as<std::string>();
          c.kept_modalities = TextArrayValues(row[5]);
          c.quota_bytes = row[6].as<std::int64_t>();
          c.over_quota = row[7].as<std::string>();
          c.service_class = row[8].as<std::string>();
          c.default_storage_period =
              StoredPeriod(row[9].as<std::string>(), fmt::format("contract {}", c.id));
          c.expiry_grace_days = row[10].as<int>();
          c.backup_timing = row[11].as<std::string>();
          if (!row[12].is_null()) c.nightly_at_minutes = row[12].as<int>();
          if (!row[13].is_null()) c.exam_quiet_minutes = row[13].as<int>();
          conditions.contract = std::move(c);
        }
        const pqxx::result rules = transaction.exec_params(
            fmt::format("SELECT {} FROM storage_rules r LEFT JOIN facilities f ON f.id = "
                        "r.facility_id WHERE r.deleted_at IS NULL AND (r.facility_id = $1 OR "
                        "r.facility_id IS NULL) ORDER BY r.facility_id IS NULL, r.position, r.id",
                        kStorageRuleColumns),
            facility_id);
        for (const auto& row : rules) {
          conditions.rules.push_back(StorageRuleRecordFromRow(row).rule);
        }
        return conditions;
      });
}

std::optional<std::string> StorageConditionsIndex::PatientChoice(std::int64_t facility_id,
                                                                 const std::string& patient_id) {
  return sql::ReadOnly(
      database_, "read a patient's choice", [&](pqxx::read_transaction& transaction) {
        const pqxx::result result = transaction.exec_params(
            "SELECT choice FROM patient_choices WHERE facility_id = $1 AND patient_id = $2",
            facility_id, patient_id);
        if (result.empty()) return std::optional<std::string>();
        return std::optional<std::string>(result[0][0].as<std::string>());
      });
}

std::optional<std::int64_t> StorageConditionsIndex::FacilityId(const std::string& name) {
  return FindFacilityId(database_, name);
}

std::int64_t StorageConditionsIndex::UsedBytes(std::int64_t facility_id) {
  return sql::ReadOnly(
      database_, "read a facility's usage", [&](pqxx::read_transaction& transaction) {
        const pqxx::result result = transaction.exec_params(
            "SELECT used_bytes FROM facility_usage WHERE facility_id = $1", facility_id);
        return result.empty() ? std::int64_t{0} : result[0][0].as<std::int64_t>();
      });
}

void StorageConditionsIndex::RecordRefusal(std::int64_t facility_id,
                                           const std::string& calling_ae,
                                           const std::string& sop_instance_uid,
                                           std::uint16_t status, const std::string& reason) {
  RecordAudit(database_, AuditEntry{calling_ae, "ingest.refuse", facility_id, sop_instance_uid,
                                    fmt::format("C-STORE answered 0x{:04X}", status), reason});
}

}  // namespace hokan::archive
