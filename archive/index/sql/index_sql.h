#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).
//
// Pieces of the index that run inside a caller's transaction, so that what
// they write exists iff the caller's change commits.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/index/audit_log.h"
#include "archive/index/storage_rules_admin.h"

namespace hokan::archive {

// The id of the facility named `name`; nullopt when there is none.
std::optional<std::int64_t> FindFacilityId(pqxx::transaction_base& transaction,
                                           const std::string& name);
// The id, or hokan::Error(kInvalidInput) "<prefix>unknown facility 'NAME'".
std::int64_t RequireFacilityId(pqxx::transaction_base& transaction, const std::string& name,
                               const std::string& message_prefix = "");

// A PostgreSQL bigint[] literal, "{1,2,3}", to pass ids as one parameter.
std::string BigintArrayLiteral(const std::vector<std::int64_t>& values);

// The non-NULL elements of a one-dimensional text[] result field.
std::vector<std::string> TextArrayValues(const pqxx::field& field);

// Writes `entry`, at hokan's Now(), inside `transaction`.
void RecordAudit(pqxx::transaction_base& transaction, const AuditEntry& entry);

// JobQueue::Enqueue inside `transaction` (the job exists iff it commits).
std::optional<std::int64_t> EnqueueJob(pqxx::transaction_base& transaction, const std::string& kind,
                                       const std::string& payload, TimePoint run_after,
                                       const std::optional<std::string>& dedupe_key = {});

// The columns StorageRuleRecordFromRow reads, in its order (a SELECT list
// over storage_rules).
extern const char* const kStorageRuleColumns;

// A storage rule from a row of kStorageRuleColumns; a stored period that
// does not parse throws hokan::Error(kInternal).
StorageRuleRecord StorageRuleRecordFromRow(const pqxx::row& row);

}  // namespace hokan::archive
