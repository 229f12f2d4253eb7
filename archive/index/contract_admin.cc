#include "archive/index/contract_admin.h"

#include <fmt/format.h>

#include <functional>
#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

constexpr const char* kExclusionViolation = "23P01";

constexpr const char* kSelectContract =
    "SELECT c.id, c.facility_id, f.name, c.service_period, c.starts_on::text, c.ends_on::text, "
    "       c.backup_timing, to_char(c.nightly_at, 'HH24:MI'), c.exam_quiet_minutes, "
    "       c.data_kept, c.kept_modalities, c.quota_bytes, c.over_quota, c.service_class, "
    "       to_char(c.export_at, 'HH24:MI'), c.default_storage_period, c.expiry_grace_days, "
    "       c.note, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "       c.created_by, "
    "       to_char(c.superseded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "       c.superseded_by "
    "  FROM contracts c JOIN facilities f ON f.id = c.facility_id ";

CivilDate StoredDate(const pqxx::field& field) {
  const auto date = ParseIsoDate(field.as<std::string>());
  if (!date) {
    throw Error(ErrorCode::kInternal,
                fmt::format("contracts: unexpected date '{}'", field.as<std::string>()));
  }
  return *date;
}


template <typename Value>
std::optional<Value> OptionalField(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<Value>();
}

ContractVersion VersionFromRow(const pqxx::row& row) {
  ContractVersion version;
  version.id = row[0].as<std::int64_t>();
  version.facility_id = row[1].as<std::int64_t>();
  version.facility = row[2].as<std::string>();
  ContractTerms& terms = version.terms;
  terms.service_period = row[3].as<std::string>();
  terms.starts_on = StoredDate(row[4]);
  terms.ends_on = StoredDate(row[5]);
  terms.backup_timing = row[6].as<std::string>();
  terms.nightly_at = OptionalField<std::string>(row[7]);
  terms.exam_quiet_minutes = OptionalField<int>(row[8]);
  terms.data_kept = row[9].as<std::string>();
  terms.kept_modalities = TextArrayValues(row[10]);
  terms.quota_bytes = row[11].as<std::int64_t>();
  terms.over_quota = row[12].as<std::string>();
  terms.service_class = row[13].as<std::string>();
  terms.export_at = OptionalField<std::string>(row[14]);
  terms.default_storage_period = row[15].as<std::string>();
  terms.expiry_grace_days = row[16].as<int>();
  terms.note = row[17].as<std::string>();
  version.created_at = row[18].as<std::string>();
  version.created_by = row[19].as<std::string>();
  version.superseded_at = OptionalField<std::string>(row[20]);
  version.superseded_by = OptionalField<std::int64_t>(row[21]);
  return version;
}

// The facility's id, its row locked against concurrent contract changes
// (FOR NO KEY UPDATE does not block ingest's foreign-key checks).
std::int64_t LockFacility(pqxx::transaction_base& transaction, const std::string& name) {
  const auto result =
      transaction.exec_params("SELECT id FROM facilities WHERE name = $1 FOR NO KEY UPDATE", name);
  if (result.empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("--facility: unknown facility '{}'", name));
  }
  return result[0][0].as<std::int64_t>();
}

std::int64_t FacilityIdOf(pqxx::transaction_base& transaction, const std::string& name) {
  return RequireFacilityId(transaction, name, "--facility: ");
}

[[noreturn]] void RefuseOverlap(const std::string& facility, const ContractTerms& terms,
                                const std::string& other) {
  throw Error(
      ErrorCode::kInvalidInput,
      fmt::format("--start/--end: {}..{} overlaps {} of facility '{}'; end or change "
                  "that contract first",
                  FormatIsoDate(terms.starts_on), FormatIsoDate(terms.ends_on), other, facility));
}

// Refuses when `terms` overlap a version of the facility that is not
// superseded, other than `replaced` (0: none).
void CheckOverlap(pqxx::transaction_base& transaction, std::int64_t facility_id,
                  const std::string& facility, const ContractTerms& terms, std::int64_t replaced) {
  const auto result = transaction.exec_params(
      "SELECT id, starts_on::text, ends_on::text FROM contracts "
      " WHERE facility_id = $1 AND superseded_at IS NULL AND id <> $4 "
      "   AND daterange(starts_on, ends_on, '[]') && daterange($2::date, $3::date, '[]') "
      " ORDER BY starts_on LIMIT 1",
      facility_id, FormatIsoDate(terms.starts_on), FormatIsoDate(terms.ends_on), replaced);
  if (!result.empty()) {
    RefuseOverlap(facility, terms,
                  fmt::format("contract {} ({}..{})", result[0][0].as<std::int64_t>(),
                              result[0][1].as<std::string>(), result[0][2].as<std::string>()));
  }
}

std::int64_t InsertVersion(pqxx::transaction_base& transaction, std::int64_t facility_id,
                           const std::string& facility, const ContractTerms& terms,
                           const std::string& actor) {
  try {
    const auto result = transaction.exec_params(
        "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, "
        "    backup_timing, nightly_at, exam_quiet_minutes, data_kept, kept_modalities, "
        "    quota_bytes, over_quota, service_class, export_at, default_storage_period, "
        "    expiry_grace_days, note, created_by, created_at) "
        "VALUES ($1, $2, $3::date, $4::date, $5, $6::time, $7, $8, $9::text[], $10, $11, $12, "
        "        $13::time, $14, $15, $16, $17, $18::timestamptz) "
        "RETURNING id",
        facility_id, terms.service_period, FormatIsoDate(terms.starts_on),
        FormatIsoDate(terms.ends_on), terms.backup_timing, terms.nightly_at,
        terms.exam_quiet_minutes, terms.data_kept, TextArrayLiteral(terms.kept_modalities),
        terms.quota_bytes, terms.over_quota, terms.service_class, terms.export_at,
        terms.default_storage_period, terms.expiry_grace_days, terms.note, actor,
        FormatUtcMicroseconds(Now()));
    return result[0][0].as<std::int64_t>();
  } catch (const pqxx::sql_error& error) {
    // The exclusion constraint: another session added an overlapping
    // contract after our check.
    if (error.sqlstate() == kExclusionViolation) {
      RefuseOverlap(facility, terms, "another contract");
    }
    throw;
  }
}

}  // namespace

ContractAdmin::ContractAdmin(Database& database) : database_(database) {}

std::int64_t ContractAdmin::Add(const std::string& facility, const ContractTerms& terms,
                                const ChangeAuthor& author) {
  return sql::ReadWrite(
      database_, fmt::format("add a contract to facility '{}'", facility),
      [&](pqxx::work& transaction) {
        const std::int64_t facility_id = LockFacility(transaction, facility);
        CheckOverlap(transaction, facility_id, facility, terms, 0);
        const std::int64_t id =
            InsertVersion(transaction, facility_id, facility, terms, author.actor);
        RecordAudit(transaction, AuditEntry{author.actor, "contract.add", facility_id,
                                            fmt::format("contract {}", id), SummarizeTerms(terms),
                                            author.reason});
        return id;
      });
}

namespace {

// Replaces contract `id` by the version `make` builds from it, in one
// transaction with its audit row; returns the new version.
ContractVersion Supersede(Database& database, std::int64_t id, const std::string& action,
                          const ChangeAuthor& author,
                          const std::function<ContractTerms(const ContractVersion&)>& make) {
  return sql::ReadWrite(
      database, fmt::format("{} {}", action, id), [&](pqxx::work& transaction) {
        const auto found = transaction.exec_params(
            std::string(kSelectContract) + " WHERE c.id = $1 FOR UPDATE OF c", id);
        if (found.empty()) {
          throw Error(ErrorCode::kInvalidInput, fmt::format("no contract {}", id));
        }
        const ContractVersion old = VersionFromRow(found[0]);
        if (old.superseded_by) {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("contract {} was superseded by contract {} at {}; {} that one",
                                  id, *old.superseded_by, old.superseded_at.value_or("?"),
                                  action == "contract.end" ? "end" : "change"));
        }
        LockFacility(transaction, old.facility);
        const ContractTerms terms = make(old);
        const auto changes = DescribeChanges(old.terms, terms);
        if (changes.empty()) {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("the options change nothing in contract {}", id));
        }
        CheckOverlap(transaction, old.facility_id, old.facility, terms, id);
        // The exclusion constraint only looks at versions not superseded: mark
        // the old one first (pointing at itself until the new id exists).
        transaction.exec_params(
            "UPDATE contracts SET superseded_at = $2::timestamptz, superseded_by = id "
            " WHERE id = $1",
            id, FormatUtcMicroseconds(Now()));
        const std::int64_t new_id =
            InsertVersion(transaction, old.facility_id, old.facility, terms, author.actor);
        transaction.exec_params("UPDATE contracts SET superseded_by = $2 WHERE id = $1", id,
                                new_id);
        std::string detail = fmt::format("replaces contract {}", id);
        for (const auto& change : changes) detail += "; " + change;
        RecordAudit(transaction,
                    AuditEntry{author.actor, action, old.facility_id,
                               fmt::format("contract {}", new_id), detail, author.reason});
        const auto inserted =
            transaction.exec_params(std::string(kSelectContract) + " WHERE c.id = $1", new_id);
        return VersionFromRow(inserted[0]);
      });
}

}  // namespace

ContractVersion ContractAdmin::Change(std::int64_t id, const ContractOptions& options,
                                      const ChangeAuthor& author) {
  if (options.Empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "'contract change' needs at least one option to change (see --help)");
  }
  return Supersede(database_, id, "contract.change", author, [&](const ContractVersion& old) {
    return ResolveContractTerms(old.terms, options);
  });
}

ContractVersion ContractAdmin::End(std::int64_t id, const CivilDate& last_day,
                                   const ChangeAuthor& author) {
  return Supersede(database_, id, "contract.end", author, [&](const ContractVersion& old) {
    if (CompareDates(last_day, old.terms.starts_on) < 0) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("--on {} is before the start of contract {} ({})",
                              FormatIsoDate(last_day), id, FormatIsoDate(old.terms.starts_on)));
    }
    if (CompareDates(last_day, old.terms.ends_on) == 0) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("--on: contract {} already ends on {}", id, FormatIsoDate(last_day)));
    }
    ContractTerms terms = old.terms;
    terms.ends_on = last_day;
    return terms;
  });
}

std::optional<ContractVersion> ContractAdmin::Current(const std::string& facility,
                                                      const CivilDate& today) {
  return sql::ReadOnly(database_, fmt::format("read the contract of facility '{}'", facility),
                       [&](pqxx::read_transaction& transaction) -> std::optional<ContractVersion> {
                         const std::int64_t facility_id = FacilityIdOf(transaction, facility);
                         const auto result = transaction.exec_params(
                             std::string(kSelectContract) +
                                 " WHERE c.facility_id = $1 AND c.superseded_at IS NULL "
                                 "   AND $2::date BETWEEN c.starts_on AND c.ends_on",
                             facility_id, FormatIsoDate(today));
                         if (result.empty()) return std::nullopt;
                         return VersionFromRow(result[0]);
                       });
}

std::vector<ContractVersion> ContractAdmin::List(const std::optional<std::string>& facility) {
  return sql::ReadOnly(database_, "list contracts", [&](pqxx::read_transaction& transaction) {
    std::optional<std::int64_t> facility_id;
    if (facility) facility_id = FacilityIdOf(transaction, *facility);
    const auto result = transaction.exec_params(
        std::string(kSelectContract) +
            " WHERE $1::bigint IS NULL OR c.facility_id = $1 ORDER BY c.id DESC",
        facility_id);
    std::vector<ContractVersion> versions;
    for (const auto& row : result) versions.push_back(VersionFromRow(row));
    return versions;
  });
}

}  // namespace hokan::archive
