#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hokan::archive {

class Database;

// One audit row (table audit_log, schema 005): who did what, when, why.
struct AuditEntry {
  std::string actor;   // operator name, or "hokan-archive@<node>"
  std::string action;  // dotted verb, e.g. "contract.add", "study.expire", "ingest.refuse"
  std::optional<std::int64_t> facility_id;
  std::string subject;  // e.g. a Study Instance UID, "rule 12"
  std::string detail;
  std::string reason;
};

struct AuditRow {
  std::int64_t id = 0;
  std::string at;  // UTC, "2026-11-22T19:05:17Z"
  std::string facility;  // name, or "" for none
  AuditEntry entry;
};

// Writes `entry`, at hokan's Now(), in its own transaction (the index
// writes audit rows inside the transaction of the change they record:
// archive/index/sql/index_sql.h). Throws hokan::Error(kDatabase).
void RecordAudit(Database& database, const AuditEntry& entry);

// Newest first: at most `limit` rows, of `facility` when given (by name),
// of actions starting with `action_prefix` when not empty.
// Throws hokan::Error(kInvalidInput) for an unknown facility.
std::vector<AuditRow> ListAudit(Database& database, const std::optional<std::string>& facility,
                                const std::string& action_prefix, int limit);

}  // namespace hokan::archive
