#pragma once

// Contracts as the administrator manages them (table contracts, schema 005).
// A contract is never overwritten: a change or an end inserts a new version
// and marks the one it replaces superseded (superseded_at, superseded_by),
// with the audit row, in one transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/index/contract_admin_terms.h"

namespace hokan::archive {

class Database;

// One stored version of a contract.
struct ContractVersion {
  std::int64_t id = 0;
  std::int64_t facility_id = 0;
  std::string facility;  // name
  ContractTerms terms;
  std::string created_at;  // UTC, "2026-11-22T19:05:17Z"
  std::string created_by;
  std::optional<std::string> superseded_at;
  std::optional<std::int64_t> superseded_by;
};

// Who changes a contract and why (the audit row's actor and reason).
struct ChangeAuthor {
  std::string actor;
  std::string reason;
};

// Reads and writes contracts. Thread-safe (each call leases its own
// connection). Every write fails with hokan::Error(kInvalidInput) and
// changes nothing when the facility or contract is unknown, the contract is
// superseded, or the new version's dates overlap another version of the
// facility that is not superseded (the message names that contract and its
// dates); hokan::Error(kDatabase) when PostgreSQL fails.
class ContractAdmin {
 public:
  explicit ContractAdmin(Database& database);  // must outlive this

  // Adds a contract to `facility`; returns its id. Audit "contract.add".
  std::int64_t Add(const std::string& facility, const ContractTerms& terms,
                   const ChangeAuthor& author);

  // Replaces contract `id` by a version with `options` applied
  // (ResolveContractTerms); returns the new version. Refuses options that
  // change nothing. Audit "contract.change", detail = DescribeChanges.
  ContractVersion Change(std::int64_t id, const ContractOptions& options,
                         const ChangeAuthor& author);

  // Replaces contract `id` by a version ending on `last_day` (inclusive),
  // which must not be before its start (the error names `--on`). Audit
  // "contract.end".
  ContractVersion End(std::int64_t id, const CivilDate& last_day, const ChangeAuthor& author);

  // The version of `facility` that is not superseded and holds `today`;
  // nullopt when there is none. Throws kInvalidInput for an unknown facility.
  std::optional<ContractVersion> Current(const std::string& facility, const CivilDate& today);

  // Every version (superseded ones included), newest first, of `facility`
  // when given. Throws kInvalidInput for an unknown facility.
  std::vector<ContractVersion> List(const std::optional<std::string>& facility);

 private:
  Database& database_;
};

}  // namespace hokan::archive
