#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/rules/storage_decision.h"

namespace hokan::archive {

class Database;

// A stored rule as the administrator sees it.
struct StorageRuleRecord {
  StorageRule rule;
  std::string facility;   // name; "" for a global rule
  std::string created_at; // UTC, "2026-11-22T19:05:17Z"
  std::string created_by;
  std::optional<std::string> deleted_at; // UTC; set once deleted
};

// Adding, listing and deleting storage rules (table storage_rules, schema
// 005), each change with its audit row in the same transaction. Rules are
// never removed: deleting sets deleted_at, so stored data keeps naming the
// rule that decided it. Thread-safe.
class StorageRulesAdmin {
public:
  explicit StorageRulesAdmin(Database &database); // must outlive this

  // Adds `rule` (its id, facility_id and position are ignored) for
  // `facility` (by name; nullopt: global) at `position` (1 = evaluated
  // first; rules of the same scope at or after it move down by one), or
  // after the scope's last rule when nullopt. Audit "rule.add" by `actor`
  // with the rule in words and `reason`. Returns the rule as stored.
  // Throws hokan::Error(kInvalidInput), changing nothing, for an unknown
  // facility, an empty name, a position below 1, a bad text pattern
  // (ValidateWildcardPattern), a negative or reversed age range, a reject
  // status other than 0x0124 or 0xA000-0xCFFF, a reject rule with a
  // period or tier, a tier other than hot or cold; (kDatabase) when
  // PostgreSQL fails.
  StorageRule Add(const std::optional<std::string> &facility,
                  std::optional<int> position, StorageRule rule,
                  const std::string &actor, const std::string &reason);

  // Rules in evaluation order: for each facility (by name) its rules by
  // position, then the global ones. `facility` given: only its rules;
  // `global`: only the global ones; both: the facility's evaluation order
  // (its rules, then the global ones); neither: all. Deleted rules only
  // with `include_deleted`. Throws hokan::Error(kInvalidInput) for an
  // unknown facility.
  std::vector<StorageRuleRecord>
  List(const std::optional<std::string> &facility, bool global,
       bool include_deleted);

  // Marks rule `id` deleted; audit "rule.delete" by `actor` with `reason`.
  // Returns the rule as it was. Throws hokan::Error(kInvalidInput) when no
  // rule `id` exists or it is already deleted.
  StorageRuleRecord Delete(std::int64_t id, const std::string &actor,
                           const std::string &reason);

private:
  Database &database_;
};

// Throws hokan::Error(kInvalidInput) naming the problem when `rule` cannot
// be stored (the checks StorageRulesAdmin::Add lists, except the facility).
void ValidateStorageRule(const StorageRule &rule);

// "0x0124" or a failure status 0xA000-0xCFFF: the statuses a reject rule
// may answer (schema 005 storage_rules CHECK).
bool IsAllowedRejectStatus(std::uint16_t status);

} // namespace hokan::archive
