#include "archive/index/audit_log.h"

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {

void RecordAudit(pqxx::transaction_base& transaction, const AuditEntry& entry) {
  transaction.exec_params(
      "INSERT INTO audit_log (actor, action, facility_id, subject, detail, reason, at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)",
      entry.actor, entry.action, entry.facility_id, entry.subject, entry.detail, entry.reason,
      FormatUtcMicroseconds(Now()));
}

void RecordAudit(Database& database, const AuditEntry& entry) {
  sql::ReadWrite(database, fmt::format("audit {}", entry.action),
                 [&](pqxx::work& transaction) { RecordAudit(transaction, entry); });
}

std::vector<AuditRow> ListAudit(Database& database, const std::optional<std::string>& facility,
                                const std::string& action_prefix, int limit) {
  return sql::ReadOnly(database, "list the audit log", [&](pqxx::read_transaction& transaction) {
    if (facility) RequireFacilityId(transaction, *facility);
    const pqxx::result result = transaction.exec_params(
        "SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "       COALESCE(f.name, ''), a.actor, a.action, a.facility_id, a.subject, a.detail, "
        "       a.reason "
        "  FROM audit_log a LEFT JOIN facilities f ON f.id = a.facility_id "
        " WHERE ($1::text IS NULL OR f.name = $1) "
        "   AND starts_with(a.action, $2) "
        " ORDER BY a.id DESC LIMIT $3",
        facility, action_prefix, limit);
    std::vector<AuditRow> rows;
    for (const auto& row : result) {
      AuditRow audit;
      audit.id = row[0].as<std::int64_t>();
      audit.at = row[1].as<std::string>();
      audit.facility = row[2].as<std::string>();
      audit.entry.actor = row[3].as<std::string>();
      audit.entry.action = row[4].as<std::string>();
      if (!row[5].is_null()) audit.entry.facility_id = row[5].as<std::int64_t>();
      audit.entry.subject = row[6].as<std::string>();
      audit.entry.detail = row[7].as<std::string>();
      audit.entry.reason = row[8].as<std::string>();
      rows.push_back(std::move(audit));
    }
    return rows;
  });
}

}  // namespace hokan::archive
