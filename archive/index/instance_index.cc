#include "archive/index/instance_index.h"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>

#include "archive/common/clock.h"
#include "archive/common/error.h"
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

std::vector<Caller> InstanceIndex::FindCallers(const std::string& ae_title,
                                               const std::string& peer_address) {
  boost::system::error_code parse_error;
  boost::asio::ip::make_address(peer_address, parse_error);
  const std::string checked_peer = parse_error ? std::string() : peer_address;
  return sql::ReadOnly(database_, fmt::format("looking up calling AE title '{}'", ae_title),
                       [&](pqxx::read_transaction& transaction) {
                         std::vector<Caller> callers;
                         for (const auto& row :
                              sql::Exec(transaction, sql::kFindCaller, ae_title, checked_peer)) {
                           Caller caller;
                           caller.facility_id = row[0].as<std::int64_t>();
                           caller.facility_name = row[1].as<std::string>();
                           caller.may_store = row[2].as<bool>();
                           caller.peer_allowed = row[3].as<bool>();
                           callers.push_back(std::move(caller));
                         }
                         return callers;
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
            "   AND host IS NOT NULL AND port IS NOT NULL"
            " ORDER BY role = 'destination' DESC LIMIT 1",
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
