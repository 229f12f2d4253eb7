#include "archive/index/sharing_grants.h"

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

std::int64_t FacilityId(pqxx::transaction_base& transaction, const std::string& name) {
  return RequireFacilityId(transaction, name);
}

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

}  // namespace

SharingGrants::SharingGrants(Database& database) : database_(database) {}

std::int64_t SharingGrants::Grant(const std::string& owner_facility,
                                  const std::string& grantee_facility,
                                  const std::string& patient_id, const std::string& reason,
                                  const std::string& granted_by) {
  if (patient_id.empty()) throw Error(ErrorCode::kInvalidInput, "the Patient ID is empty");
  if (owner_facility == grantee_facility) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("facility '{}' cannot share with itself", owner_facility));
  }
  return sql::ReadWrite(database_, "granting", [&](pqxx::work& transaction) {
    const auto owner = FacilityId(transaction, owner_facility);
    const auto grantee = FacilityId(transaction, grantee_facility);
    const auto result = transaction.exec_params(
        "INSERT INTO sharing_grants (owner_facility_id, grantee_facility_id, patient_id, reason,"
        "                            granted_by, granted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6::timestamptz)"
        " ON CONFLICT (grantee_facility_id, owner_facility_id, patient_id)"
        "   WHERE revoked_at IS NULL DO NOTHING"
        " RETURNING id",
        owner, grantee, patient_id, reason, granted_by, FormatUtcMicroseconds(Now()));
    if (result.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("facility '{}' already shares patient '{}' with '{}'",
                              owner_facility, patient_id, grantee_facility));
    }
    return result[0][0].as<std::int64_t>();
  });
}

void SharingGrants::Revoke(std::int64_t id, const std::string& revoked_by) {
  sql::ReadWrite(database_, fmt::format("revoking grant {}", id), [&](pqxx::work& transaction) {
    const auto result = transaction.exec_params(
        "UPDATE sharing_grants SET revoked_at = $3::timestamptz, revoked_by = $2"
        " WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        id, revoked_by, FormatUtcMicroseconds(Now()));
    if (result.empty()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("no active sharing grant {}", id));
    }
  });
}

std::vector<SharingGrant> SharingGrants::List(const std::optional<std::string>& facility,
                                              bool include_revoked) {
  return sql::ReadOnly(database_, "listing grants", [&](pqxx::read_transaction& transaction) {
    const std::int64_t facility_id = facility ? FacilityId(transaction, *facility) : 0;
    const auto result = transaction.exec_params(
        "SELECT g.id, o.name, e.name, g.patient_id, g.reason, g.granted_by,"
        "       to_char(g.granted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "       g.revoked_by,"
        "       to_char(g.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        "  FROM sharing_grants g"
        "  JOIN facilities o ON o.id = g.owner_facility_id"
        "  JOIN facilities e ON e.id = g.grantee_facility_id"
        " WHERE ($1 = 0 OR $1 IN (g.owner_facility_id, g.grantee_facility_id))"
        "   AND ($2 OR g.revoked_at IS NULL)"
        " ORDER BY g.id DESC",
        facility_id, include_revoked);
    std::vector<SharingGrant> grants;
    for (const auto& row : result) {
      SharingGrant grant;
      grant.id = row[0].as<std::int64_t>();
      grant.owner_facility = row[1].as<std::string>();
      grant.grantee_facility = row[2].as<std::string>();
      grant.patient_id = row[3].as<std::string>();
      grant.reason = row[4].as<std::string>();
      grant.granted_by = row[5].as<std::string>();
      grant.granted_at = row[6].as<std::string>();
      grant.revoked_by = OptionalText(row[7]);
      grant.revoked_at = OptionalText(row[8]);
      grants.push_back(std::move(grant));
    }
    return grants;
  });
}

}  // namespace hokan::archive
