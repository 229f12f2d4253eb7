// InstanceIndex::SyncConfiguredFacilities: the configuration's facilities,
// their callers and destinations, made present in the database.

#include <fmt/format.h>

#include <algorithm>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"
#include "archive/index/instance_index.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

// The provisional contract, annual from the UTC day of `now`.
void ProvisionContract(pqxx::work& transaction, const FacilityConfig& facility,
                       std::int64_t facility_id, TimePoint now) {
  const std::string today = FormatUtc(now).substr(0, 10);
  const pqxx::result inserted = transaction.exec_params(
      "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
      "                       data_kept, quota_bytes, over_quota, service_class, "
      "                       default_storage_period, note, created_by, created_at) "
      "SELECT $1, 'annual', $2::date, ($2::date + interval '1 year' - interval '1 day')::date, "
      "       'on_receipt', 'all', $3, 'refuse', 'economy', 'forever', "
      "       'provisional contract from the configuration (provision_contract)', "
      "       'hokan-archive', $4::timestamptz "
      " WHERE NOT EXISTS (SELECT 1 FROM contracts WHERE facility_id = $1) "
      "RETURNING id",
      facility_id, today, facility.provision_quota_bytes, FormatUtcMicroseconds(now));
  if (inserted.empty()) return;
  const auto contract_id = inserted[0][0].as<std::int64_t>();
  RecordAudit(transaction,
              AuditEntry{"hokan-archive", "contract.provision", facility_id,
                         fmt::format("contract {}", contract_id),
                         fmt::format("annual from {} for one year, all data, quota {} bytes, "
                                     "economy, storage period forever",
                                     today, facility.provision_quota_bytes),
                         "provision_contract = true in the configuration"});
  Log(LogLevel::kInfo, "facility {}: provisional contract {} from {} (provision_contract)",
      facility.name, contract_id, today);
}

// A caller row of the facility: (facility, AE title) has one caller row and
// one destination row at most (schema 015). Its host and port are the AE's
// report destination, if the facility names one.
constexpr char kUpsertCaller[] =
    "INSERT INTO application_entities"
    "  (ae_title, facility_id, role, host, port, allowed_networks, may_store, source, enabled,"
    "   updated_at)"
    " VALUES ($1, $2, CASE WHEN $4 THEN 'modality' ELSE 'viewer' END, NULLIF($6, ''),"
    "         NULLIF($7, 0), $3::cidr[], $4, 'config', true, $5::timestamptz)"
    " ON CONFLICT (facility_id, ae_title, (role = 'destination')) DO UPDATE SET"
    "  role = EXCLUDED.role, host = EXCLUDED.host, port = EXCLUDED.port,"
    "  allowed_networks = EXCLUDED.allowed_networks, may_store = EXCLUDED.may_store,"
    "  source = 'config', enabled = true, updated_at = EXCLUDED.updated_at"
    " RETURNING id";

// A destination row of the facility: never a caller (admission ignores it).
constexpr char kUpsertDestination[] =
    "INSERT INTO application_entities"
    "  (ae_title, facility_id, role, host, port, may_store, source, enabled, updated_at)"
    " VALUES ($1, $2, 'destination', $3, $4, false, 'config', true, $5::timestamptz)"
    " ON CONFLICT (facility_id, ae_title, (role = 'destination')) DO UPDATE SET"
    "  host = EXCLUDED.host, port = EXCLUDED.port, source = 'config', enabled = true,"
    "  updated_at = EXCLUDED.updated_at"
    " RETURNING id";

// The report destination the facility names for `ae_title`, or none.
const DestinationConfig* ReportDestinationOf(const FacilityConfig& facility,
                                             const std::string& ae_title) {
  for (const auto& destination : facility.report_destinations) {
    if (destination.ae_title == ae_title) return &destination;
  }
  return nullptr;
}

// Upserts the facility's rows; returns their ids.
std::vector<std::string> SyncFacilityEntities(pqxx::work& transaction,
                                              const FacilityConfig& facility,
                                              std::int64_t facility_id, const std::string& now) {
  std::vector<std::string> ids;
  const std::pair<const std::vector<std::string>*, bool> lists[] = {
      {&facility.store_ae_titles, true}, {&facility.query_ae_titles, false}};
  for (const auto& [titles, may_store] : lists) {
    for (const auto& ae : *titles) {
      const DestinationConfig* report = ReportDestinationOf(facility, ae);
      const auto row = transaction.exec_params(
          kUpsertCaller, ae, facility_id, TextArrayLiteral(facility.allowed_peers), may_store,
          now, report ? report->host : std::string(), report ? report->port : 0);
      ids.push_back(row[0][0].as<std::string>());
    }
  }
  for (const auto& destination : facility.move_destinations) {
    const auto row = transaction.exec_params(kUpsertDestination, destination.ae_title,
                                             facility_id, destination.host, destination.port, now);
    ids.push_back(row[0][0].as<std::string>());
  }
  return ids;
}

}  // namespace

void InstanceIndex::SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities) {
  const TimePoint clock = Now();
  const std::string now = FormatUtcMicroseconds(clock);
  sql::ReadWrite(database_, "syncing configured facilities", [&](pqxx::work& transaction) {
    std::vector<std::string> configured_ids;
    for (const auto& facility : facilities) {
      const auto row = transaction.exec_params(
          "INSERT INTO facilities (name, created_at) VALUES ($1, $2::timestamptz)"
          " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
          facility.name, now);
      const auto facility_id = row[0][0].as<std::int64_t>();
      const auto ids = SyncFacilityEntities(transaction, facility, facility_id, now);
      configured_ids.insert(configured_ids.end(), ids.begin(), ids.end());
      if (facility.provision_contract) {
        ProvisionContract(transaction, facility, facility_id, clock);
      }
    }
    transaction.exec_params(
        "UPDATE application_entities SET enabled = false, updated_at = $2::timestamptz"
        " WHERE source = 'config' AND enabled AND NOT (id = ANY ($1::bigint[]))",
        TextArrayLiteral(configured_ids), now);
  });
}

}  // namespace hokan::archive
