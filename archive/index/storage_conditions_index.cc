#include "archive/index/storage_conditions_index.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/database.h"

namespace hokan::archive {
namespace {

CivilDate DateFromSql(const pqxx::field& field) {
  const std::string text = field.as<std::string>();  // YYYY-MM-DD (DateStyle ISO)
  const auto date = ParseDicomDate(text.substr(0, 4) + text.substr(5, 2) + text.substr(8, 2));
  if (!date) throw Error(ErrorCode::kInternal, fmt::format("unexpected date '{}'", text));
  return *date;
}

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
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

// Elements of a one-dimensional text[] as pqxx returns it.
std::vector<std::string> TextArray(const pqxx::field& field) {
  std::vector<std::string> values;
  pqxx::array_parser parser = field.as_array();
  for (auto next = parser.get_next(); next.first != pqxx::array_parser::done;
       next = parser.get_next()) {
    if (next.first == pqxx::array_parser::string_value) values.push_back(next.second);
  }
  return values;
}

}  // namespace

StorageConditionsIndex::StorageConditionsIndex(Database& database) : database_(database) {}

StorageConditions StorageConditionsIndex::Load(std::int64_t facility_id, TimePoint now) {
  const CivilDate today = DateOf(now);
  const std::string today_text = fmt::format("{:04}-{:02}-{:02}", today.year, today.month,
                                             today.day);
  return WithConnection(database_, fmt::format("load the storage conditions of facility {}",
                                               facility_id),
                        [&](pqxx::connection& connection) {
    pqxx::read_transaction transaction(connection);
    StorageConditions conditions;
    const pqxx::result contract = transaction.exec_params(
        "SELECT id, service_period, starts_on::text, ends_on::text, data_kept, kept_modalities, "
        "       quota_bytes, over_quota, service_class, default_storage_period, "
        "       expiry_grace_days "
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
      c.kept_modalities = TextArray(row[5]);
      c.quota_bytes = row[6].as<std::int64_t>();
      c.over_quota = row[7].as<std::string>();
      c.service_class = row[8].as<std::string>();
      c.default_storage_period =
          StoredPeriod(row[9].as<std::string>(), fmt::format("contract {}", c.id));
      c.expiry_grace_days = row[10].as<int>();
      conditions.contract = std::move(c);
    }
    const pqxx::result rules = transaction.exec_params(
        "SELECT id, facility_id, position, name, calling_ae, modality, sop_class_uid, "
        "       body_part, study_description, patient_age_min, patient_age_max, "
        "       patient_opted_out, action, reject_status, storage_period, tier "
        "  FROM storage_rules "
        " WHERE deleted_at IS NULL AND (facility_id = $1 OR facility_id IS NULL) "
        " ORDER BY facility_id IS NULL, position, id",
        facility_id);
    for (const auto& row : rules) {
      StorageRule rule;
      rule.id = row[0].as<std::int64_t>();
      if (!row[1].is_null()) rule.facility_id = row[1].as<std::int64_t>();
      rule.position = row[2].as<int>();
      rule.name = row[3].as<std::string>();
      rule.calling_ae = OptionalText(row[4]);
      rule.modality = OptionalText(row[5]);
      rule.sop_class_uid = OptionalText(row[6]);
      rule.body_part = OptionalText(row[7]);
      rule.study_description = OptionalText(row[8]);
      if (!row[9].is_null()) rule.patient_age_min = row[9].as<int>();
      if (!row[10].is_null()) rule.patient_age_max = row[10].as<int>();
      if (!row[11].is_null()) rule.patient_opted_out = row[11].as<bool>();
      rule.accept = row[12].as<std::string>() == "accept";
      if (!row[13].is_null()) rule.reject_status = static_cast<std::uint16_t>(row[13].as<int>());
      if (!row[14].is_null()) {
        rule.storage_period =
            StoredPeriod(row[14].as<std::string>(), fmt::format("rule {}", rule.id));
      }
      rule.tier = OptionalText(row[15]);
      conditions.rules.push_back(std::move(rule));
    }
    return conditions;
  });
}

std::optional<std::string> StorageConditionsIndex::PatientChoice(std::int64_t facility_id,
                                                                 const std::string& patient_id) {
  return WithConnection(database_, "read a patient's choice", [&](pqxx::connection& connection) {
    pqxx::read_transaction transaction(connection);
    const pqxx::result result = transaction.exec_params(
        "SELECT choice FROM patient_choices WHERE facility_id = $1 AND patient_id = $2",
        facility_id, patient_id);
    if (result.empty()) return std::optional<std::string>();
    return std::optional<std::string>(result[0][0].as<std::string>());
  });
}

std::optional<std::int64_t> StorageConditionsIndex::FacilityId(const std::string& name) {
  return WithConnection(database_, "find a facility", [&](pqxx::connection& connection) {
    pqxx::read_transaction transaction(connection);
    const pqxx::result result =
        transaction.exec_params("SELECT id FROM facilities WHERE name = $1", name);
    if (result.empty()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(result[0][0].as<std::int64_t>());
  });
}

std::int64_t StorageConditionsIndex::UsedBytes(std::int64_t facility_id) {
  return WithConnection(database_, "read a facility's usage", [&](pqxx::connection& connection) {
    pqxx::read_transaction transaction(connection);
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
