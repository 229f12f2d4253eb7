#include "archive/index/instance_index.h"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/instance_statements.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

// The first column of the first row of a prepared read, or nullopt.
template <typename... Args>
std::optional<std::string> ReadOptionalText(Database& database, const std::string& what,
                                            const sql::Statement& statement, Args&&... args) {
  return sql::ReadOnly(database, what, [&](pqxx::read_transaction& transaction) {
    const pqxx::result result = sql::Exec(transaction, statement, args...);
    if (result.empty()) return std::optional<std::string>();
    return std::optional<std::string>(result[0][0].as<std::string>());
  });
}

}  // namespace

InstanceIndex::InstanceIndex(Database& database) : database_(database) {}

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

}  // namespace

void InstanceIndex::SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities) {
  const TimePoint clock = Now();
  const std::string now = FormatUtcMicroseconds(clock);
  sql::ReadWrite(database_, "syncing configured facilities", [&](pqxx::work& transaction) {
    std::vector<std::string> configured_aes;
    for (const auto& facility : facilities) {
      const auto row = transaction.exec_params(
          "INSERT INTO facilities (name, created_at) VALUES ($1, $2::timestamptz)"
          " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
          facility.name, now);
      const auto facility_id = row[0][0].as<std::int64_t>();
      const std::pair<const std::vector<std::string>*, bool> lists[] = {
          {&facility.store_ae_titles, true}, {&facility.query_ae_titles, false}};
      for (const auto& [titles, may_store] : lists) {
        for (const auto& ae : *titles) {
          transaction.exec_params(
              "INSERT INTO application_entities"
              "  (ae_title, facility_id, role, allowed_networks, may_store, source, enabled,"
              "   updated_at)"
              " VALUES ($1, $2, CASE WHEN $4 THEN 'modality' ELSE 'viewer' END, $3::cidr[],"
              "         $4, 'config', true, $5::timestamptz)"
              " ON CONFLICT (ae_title) DO UPDATE SET facility_id = EXCLUDED.facility_id,"
              "  role = EXCLUDED.role, allowed_networks = EXCLUDED.allowed_networks,"
              "  may_store = EXCLUDED.may_store, source = 'config', enabled = true,"
              "  updated_at = EXCLUDED.updated_at",
              ae, facility_id, TextArrayLiteral(facility.allowed_peers), may_store, now);
          configured_aes.push_back(ae);
        }
      }
      if (facility.provision_contract) {
        ProvisionContract(transaction, facility, facility_id, clock);
      }
      for (const auto& destination : facility.move_destinations) {
        // A destination AE title that also calls in keeps its role and rights.
        transaction.exec_params(
            "INSERT INTO application_entities"
            "  (ae_title, facility_id, role, host, port, may_store, source, enabled, updated_at)"
            " VALUES ($1, $2, 'destination', $3, $4, false, 'config', true, $5::timestamptz)"
            " ON CONFLICT (ae_title) DO UPDATE SET facility_id = EXCLUDED.facility_id,"
            "  host = EXCLUDED.host, port = EXCLUDED.port, source = 'config', enabled = true,"
            "  updated_at = EXCLUDED.updated_at",
            destination.ae_title, facility_id, destination.host, destination.port, now);
        configured_aes.push_back(destination.ae_title);
      }
      for (const auto& destination : facility.report_destinations) {
        // The address Storage Commitment reports for this store AE go to.
        transaction.exec_params(
            "UPDATE application_entities SET host = $3, port = $4, updated_at = $5::timestamptz"
            " WHERE ae_title = $1 AND facility_id = $2",
            destination.ae_title, facility_id, destination.host, destination.port, now);
      }
    }
    transaction.exec_params(
        "UPDATE application_entities SET enabled = false, updated_at = $2::timestamptz"
        " WHERE source = 'config' AND enabled AND NOT (ae_title = ANY ($1::text[]))",
        TextArrayLiteral(configured_aes), now);
  });
}

std::optional<Caller> InstanceIndex::FindCaller(const std::string& ae_title,
                                                const std::string& peer_address) {
  boost::system::error_code parse_error;
  boost::asio::ip::make_address(peer_address, parse_error);
  const std::string checked_peer = parse_error ? std::string() : peer_address;
  return sql::ReadOnly(database_, fmt::format("looking up calling AE title '{}'", ae_title),
                       [&](pqxx::read_transaction& transaction) -> std::optional<Caller> {
                         const auto result =
                             sql::Exec(transaction, sql::kFindCaller, ae_title, checked_peer);
                         if (result.empty()) return std::nullopt;
                         Caller caller;
                         caller.facility_id = result[0][0].as<std::int64_t>();
                         caller.facility_name = result[0][1].as<std::string>();
                         caller.may_store = result[0][2].as<bool>();
                         caller.peer_allowed = result[0][3].as<bool>();
                         return caller;
                       });
}

std::optional<MoveDestination> InstanceIndex::FindMoveDestination(const std::string& ae_title,
                                                                 std::int64_t facility_id) {
  return sql::ReadOnly(
      database_, fmt::format("looking up move destination '{}'", ae_title),
      [&](pqxx::read_transaction& transaction) -> std::optional<MoveDestination> {
        const auto result = transaction.exec_params(
            "SELECT host, port FROM application_entities"
            " WHERE ae_title = $1 AND facility_id = $2 AND enabled"
            "   AND host IS NOT NULL AND port IS NOT NULL",
            ae_title, facility_id);
        if (result.empty()) return std::nullopt;
        return MoveDestination{ae_title, result[0][0].as<std::string>(), result[0][1].as<int>()};
      });
}

std::optional<std::string> InstanceIndex::FindChecksum(std::int64_t facility_id,
                                                       const std::string& sop_instance_uid) {
  return ReadOptionalText(database_, fmt::format("looking up instance {}", sop_instance_uid),
                          sql::kFindInstanceChecksum, facility_id, sop_instance_uid);
}

std::optional<std::string> InstanceIndex::ChecksumAt(const std::string& relative_path) {
  return ReadOptionalText(database_, fmt::format("looking up {}", relative_path), sql::kChecksumAt,
                          relative_path);
}

void InstanceIndex::RemoveInstanceAt(const std::string& relative_path) {
  const std::string now = FormatUtcMicroseconds(Now());
  sql::ReadWrite(database_, fmt::format("removing the row of {}", relative_path),
                 [&](pqxx::work& transaction) {
                   sql::Exec(transaction, sql::kRemoveInstanceAt, relative_path, now);
                 });
}

}  // namespace hokan::archive
