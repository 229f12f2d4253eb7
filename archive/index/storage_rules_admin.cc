#include "archive/index/storage_rules_admin.h"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {

// The columns StorageRuleRecordFromRow reads, in its order.
const char *const kStorageRuleColumns =
    "r.id, r.facility_id, r.position, r.name, r.calling_ae, r.modality, "
    "r.sop_class_uid,"
    " r.body_part, r.study_description, r.patient_age_min, r.patient_age_max,"
    " r.patient_opted_out, r.action, r.reject_status, r.storage_period, r.tier,"
    " COALESCE(f.name, ''),"
    " to_char(r.created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.created_by,"
    " to_char(r.deleted_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

namespace {

const char *const kRuleColumns = kStorageRuleColumns;

std::optional<std::string> OptionalText(const pqxx::field &field) {
  if (field.is_null())
    return std::nullopt;
  return field.as<std::string>();
}

std::optional<int> OptionalInt(const pqxx::field &field) {
  if (field.is_null())
    return std::nullopt;
  return field.as<int>();
}

}  // namespace

StorageRuleRecord StorageRuleRecordFromRow(const pqxx::row &row) {
  StorageRuleRecord record;
  StorageRule &rule = record.rule;
  rule.id = row[0].as<std::int64_t>();
  if (!row[1].is_null())
    rule.facility_id = row[1].as<std::int64_t>();
  rule.position = row[2].as<int>();
  rule.name = row[3].as<std::string>();
  rule.calling_ae = OptionalText(row[4]);
  rule.modality = OptionalText(row[5]);
  rule.sop_class_uid = OptionalText(row[6]);
  rule.body_part = OptionalText(row[7]);
  rule.study_description = OptionalText(row[8]);
  rule.patient_age_min = OptionalInt(row[9]);
  rule.patient_age_max = OptionalInt(row[10]);
  if (!row[11].is_null())
    rule.patient_opted_out = row[11].as<bool>();
  rule.accept = row[12].as<std::string>() == "accept";
  if (!row[13].is_null())
    rule.reject_status = static_cast<std::uint16_t>(row[13].as<int>());
  if (!row[14].is_null()) {
    const std::string period = row[14].as<std::string>();
    try {
      rule.storage_period = ParseStoragePeriod(period);
    } catch (const Error &error) {
      throw Error(
          ErrorCode::kInternal,
          fmt::format("rule {} has a storage period hokan cannot read: {}",
                      rule.id, error.what()));
    }
  }
  rule.tier = OptionalText(row[15]);
  record.facility = row[16].as<std::string>();
  record.created_at = row[17].as<std::string>();
  record.created_by = row[18].as<std::string>();
  record.deleted_at = OptionalText(row[19]);
  return record;
}

namespace {

std::int64_t FacilityId(pqxx::transaction_base &transaction,
                        const std::string &name) {
  return RequireFacilityId(transaction, name);
}

// The rule in words for the audit trail.
std::string Describe(const StorageRule &rule, const std::string &facility) {
  return fmt::format("{}, position {}, '{}': when {}: {}",
                     facility.empty() ? "global" : "facility " + facility,
                     rule.position, rule.name, DescribeConditions(rule),
                     DescribeAction(rule));
}

} // namespace

bool IsAllowedRejectStatus(std::uint16_t status) {
  return status == kRefusedNotAuthorized ||
         (status >= 0xA000 && status <= 0xCFFF);
}

void ValidateStorageRule(const StorageRule &rule) {
  auto refuse = [](const std::string &message) {
    throw Error(ErrorCode::kInvalidInput, message);
  };
  if (rule.name.empty())
    refuse("a rule needs a name");
  const std::pair<const char *, const std::optional<std::string> *> patterns[] =
      {
          {"calling_ae", &rule.calling_ae},
          {"modality", &rule.modality},
          {"sop_class_uid", &rule.sop_class_uid},
          {"body_part", &rule.body_part},
          {"study_description", &rule.study_description},
      };
  for (const auto &[key, pattern] : patterns) {
    if (*pattern)
      ValidateWildcardPattern(key, **pattern);
  }
  if (rule.patient_age_min && *rule.patient_age_min < 0) {
    refuse("condition patient_age_min: must be 0 or more");
  }
  if (rule.patient_age_max && *rule.patient_age_max < 0) {
    refuse("condition patient_age_max: must be 0 or more");
  }
  if (rule.patient_age_min && rule.patient_age_max &&
      *rule.patient_age_min > *rule.patient_age_max) {
    refuse(fmt::format(
        "conditions patient_age_min={} and patient_age_max={}: the minimum is "
        "above the maximum",
        *rule.patient_age_min, *rule.patient_age_max));
  }
  if (rule.accept)
    return;
  if (!IsAllowedRejectStatus(rule.reject_status)) {
    refuse(fmt::format(
        "reject status 0x{:04X}: allowed are 0x0124 (Refused: Not Authorized) "
        "and failure statuses 0xA000-0xCFFF",
        rule.reject_status));
  }
  if (rule.storage_period)
    refuse("a reject rule cannot have a storage period");
  if (rule.tier)
    refuse("a reject rule cannot have a tier");
}

StorageRulesAdmin::StorageRulesAdmin(Database &database)
    : database_(database) {}

StorageRule StorageRulesAdmin::Add(const std::optional<std::string> &facility,
                                   std::optional<int> position,
                                   StorageRule rule, const std::string &actor,
                                   const std::string &reason) {
  ValidateStorageRule(rule);
  if (rule.tier && *rule.tier != "hot" && *rule.tier != "cold") {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("tier '{}': allowed are hot and cold", *rule.tier));
  }
  if (position && *position < 1) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("position {}: positions start at 1", *position));
  }
  return sql::ReadWrite(
      database_, "adding a storage rule", [&](pqxx::work &transaction) {
        rule.facility_id.reset();
        if (facility)
          rule.facility_id = FacilityId(transaction, *facility);
        // One rule change at a time, so positions stay consistent.
        transaction.exec(
            "SELECT pg_advisory_xact_lock(hashtext('hokan.storage_rules'))");
        if (position) {
          transaction.exec_params(
              "UPDATE storage_rules SET position = position + 1"
              " WHERE facility_id IS NOT DISTINCT FROM $1 AND deleted_at IS "
              "NULL"
              "   AND position >= $2",
              rule.facility_id, *position);
          rule.position = *position;
        } else {
          rule.position =
              transaction
                  .exec_params(
                      "SELECT COALESCE(max(position), 0) + 1 FROM storage_rules"
                      " WHERE facility_id IS NOT DISTINCT FROM $1"
                      "   AND deleted_at IS NULL",
                      rule.facility_id)[0][0]
                  .as<int>();
        }
        std::optional<int> reject_status;
        if (!rule.accept)
          reject_status = rule.reject_status;
        std::optional<std::string> period;
        if (rule.storage_period)
          period = FormatStoragePeriod(*rule.storage_period);
        const auto inserted = transaction.exec_params(
            "INSERT INTO storage_rules (facility_id, position, name, "
            "calling_ae, modality,"
            "    sop_class_uid, body_part, study_description, patient_age_min, "
            "patient_age_max,"
            "    patient_opted_out, action, reject_status, storage_period, "
            "tier, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
            "$14, $15, $16, $17::timestamptz)"
            " RETURNING id",
            rule.facility_id, rule.position, rule.name, rule.calling_ae,
            rule.modality, rule.sop_class_uid, rule.body_part,
            rule.study_description, rule.patient_age_min, rule.patient_age_max,
            rule.patient_opted_out,
            std::string(rule.accept ? "accept" : "reject"), reject_status,
            period, rule.tier, actor, FormatUtcMicroseconds(Now()));
        rule.id = inserted[0][0].as<std::int64_t>();
        RecordAudit(transaction,
                    AuditEntry{actor, "rule.add", rule.facility_id,
                               fmt::format("rule {}", rule.id),
                               Describe(rule, facility.value_or("")), reason});
        return rule;
      });
}

std::vector<StorageRuleRecord>
StorageRulesAdmin::List(const std::optional<std::string> &facility, bool global,
                        bool include_deleted) {
  return sql::ReadOnly(
      database_, "listing storage rules", [&](pqxx::read_transaction &transaction) {
        std::optional<std::int64_t> facility_id;
        if (facility)
          facility_id = FacilityId(transaction, *facility);
        const auto result = transaction.exec_params(
            fmt::format(
                "SELECT {} FROM storage_rules r LEFT JOIN facilities f ON f.id "
                "= r.facility_id"
                " WHERE ($3 OR r.deleted_at IS NULL)"
                "   AND (($1::bigint IS NULL AND NOT $2)"
                "        OR r.facility_id = $1::bigint"
                "        OR ($2 AND r.facility_id IS NULL))"
                " ORDER BY r.facility_id IS NULL, f.name, r.position, r.id",
                kRuleColumns),
            facility_id, global, include_deleted);
        std::vector<StorageRuleRecord> records;
        for (const auto &row : result)
          records.push_back(StorageRuleRecordFromRow(row));
        return records;
      });
}

StorageRuleRecord StorageRulesAdmin::Delete(std::int64_t id,
                                            const std::string &actor,
                                            const std::string &reason) {
  return sql::ReadWrite(
      database_, fmt::format("deleting storage rule {}", id),
      [&](pqxx::work &transaction) {
        transaction.exec(
            "SELECT pg_advisory_xact_lock(hashtext('hokan.storage_rules'))");
        const auto found = transaction.exec_params(
            fmt::format("SELECT {} FROM storage_rules r LEFT JOIN facilities f "
                        "ON f.id = r.facility_id"
                        " WHERE r.id = $1",
                        kRuleColumns),
            id);
        if (found.empty()) {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("no storage rule {}", id));
        }
        StorageRuleRecord record = StorageRuleRecordFromRow(found[0]);
        if (record.deleted_at) {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("storage rule {} was already deleted at {}",
                                  id, *record.deleted_at));
        }
        transaction.exec_params(
            "UPDATE storage_rules SET deleted_at = $2::timestamptz WHERE id = $1", id,
            FormatUtcMicroseconds(Now()));
        RecordAudit(transaction,
                    AuditEntry{actor, "rule.delete", record.rule.facility_id,
                               fmt::format("rule {}", id),
                               Describe(record.rule, record.facility), reason});
        return record;
      });
}

} // namespace hokan::archive
