#include "archive/index/installation_index.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

constexpr const char* kSelect =
    "SELECT installation_id, "
    "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "       to_char(storage_marked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "       COALESCE(storage_marked_root, '') "
    "  FROM installation";

std::string RandomInstallationId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw Error(ErrorCode::kInternal, "cannot draw a random installation id (OpenSSL RAND_bytes)");
  }
  std::string id;
  for (const unsigned char byte : bytes) id += fmt::format("{:02x}", byte);
  return id;
}

std::optional<Installation> Read(pqxx::transaction_base& transaction) {
  const pqxx::result result = transaction.exec(kSelect);
  if (result.empty()) return std::nullopt;
  Installation installation;
  installation.id = result[0][0].as<std::string>();
  installation.created_at = result[0][1].as<std::string>();
  if (!result[0][2].is_null()) installation.storage_marked_at = result[0][2].as<std::string>();
  installation.storage_marked_root = result[0][3].as<std::string>();
  return installation;
}

}  // namespace

std::optional<Installation> FindInstallation(Database& database) {
  return sql::ReadOnly(database, "read the installation id",
                       [](pqxx::read_transaction& transaction) { return Read(transaction); });
}

Installation EnsureInstallation(Database& database) {
  return sql::ReadWrite(database, "create the installation id", [](pqxx::work& transaction) {
    transaction.exec_params(
        "INSERT INTO installation (installation_id, created_at) VALUES ($1, $2::timestamptz) "
        "ON CONFLICT (singleton) DO NOTHING",
        RandomInstallationId(), FormatUtcMicroseconds(Now()));
    std::optional<Installation> installation = Read(transaction);
    if (!installation) throw Error(ErrorCode::kInternal, "the installation row vanished");
    return *installation;
  });
}

void RecordStorageMarked(Database& database, const std::string& root, bool replace) {
  sql::ReadWrite(database, "record the marked storage root", [&](pqxx::work& transaction) {
    transaction.exec_params(
        "UPDATE installation SET storage_marked_at = $1::timestamptz, storage_marked_root = $2 "
        " WHERE storage_marked_at IS NULL OR $3",
        FormatUtcMicroseconds(Now()), root, replace);
  });
}

}  // namespace hokan::archive
