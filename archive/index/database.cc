#include "archive/index/database.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {

Database::Database(std::string conninfo, int pool_size)
    : pool_(std::make_unique<sql::ConnectionPool>(std::move(conninfo), pool_size)) {}

Database::~Database() = default;

std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) literal += ',';
    literal += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  return literal + "}";
}

std::string BigintArrayLiteral(const std::vector<std::int64_t>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ",";
    literal += std::to_string(values[i]);
  }
  return literal + "}";
}

void ValidateMigrationOrder(const std::vector<schema::Migration>& migrations) {
  int previous = 0;
  for (const auto& migration : migrations) {
    if (migration.version <= previous) {
      throw Error(ErrorCode::kInternal,
                  fmt::format("migration {}: version {} does not follow version {}",
                              migration.name, migration.version, previous));
    }
    previous = migration.version;
  }
}

int ApplyMigrations(Database& database, const std::vector<schema::Migration>& migrations) {
  ValidateMigrationOrder(migrations);
  // Each migration commits on its own and the loop reads what is applied
  // before each one, so a failure is reported, never retried here.
  auto lease = database.pool().Acquire();
  pqxx::connection& connection = lease.connection();
  constexpr long long kMigrationLock = 0x686f6b616e;  // "hokan"
  int applied = 0;
  try {
    pqxx::work setup(connection);
    setup.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
    setup.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL)");
    setup.commit();

    for (const auto& migration : migrations) {
      pqxx::work transaction(connection);
      transaction.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
      const auto known = transaction.exec("SELECT max(version) FROM schema_migrations");
      if (!known[0][0].is_null() && known[0][0].as<int>() > migrations.back().version) {
        throw Error(ErrorCode::kDatabase,
                    fmt::format("database schema version {} is newer than this binary's {}",
                                known[0][0].as<int>(), migrations.back().version));
      }
      const auto done = transaction.exec_params(
          "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version);
      if (!done.empty()) continue;
      try {
        transaction.exec(migration.sql);
      } catch (const pqxx::sql_error& error) {
        throw Error(ErrorCode::kDatabase,
                    fmt::format("migration {} failed: {}", migration.name, error.what()));
      }
      transaction.exec_params(
          "INSERT INTO schema_migrations (version, name, applied_at) "
          "VALUES ($1, $2, $3::timestamptz)",
          migration.version, migration.name, FormatUtcMicroseconds(Now()));
      transaction.commit();
      Log(LogLevel::kInfo, "applied schema migration {}", migration.name);
      ++applied;
    }
  } catch (const pqxx::broken_connection& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase, fmt::format("applying migrations: {}", error.what()));
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase, fmt::format("applying migrations: {}", error.what()));
  }
  return applied;
}

std::vector<std::string> TextArrayValues(const pqxx::field& field) {
  std::vector<std::string> values;
  pqxx::array_parser parser = field.as_array();
  for (auto next = parser.get_next(); next.first != pqxx::array_parser::done;
       next = parser.get_next()) {
    if (next.first == pqxx::array_parser::string_value) values.push_back(next.second);
  }
  return values;
}

std::optional<std::int64_t> FindFacilityId(pqxx::transaction_base& transaction,
                                           const std::string& name) {
  const pqxx::result result =
      transaction.exec_params("SELECT id FROM facilities WHERE name = $1", name);
  if (result.empty()) return std::nullopt;
  return result[0][0].as<std::int64_t>();
}

std::int64_t RequireFacilityId(pqxx::transaction_base& transaction, const std::string& name,
                               const std::string& message_prefix) {
  const auto id = FindFacilityId(transaction, name);
  if (!id) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}unknown facility '{}'", message_prefix, name));
  }
  return *id;
}

std::optional<std::int64_t> FindFacilityId(Database& database, const std::string& name) {
  return sql::ReadOnly(
      database, fmt::format("look up facility '{}'", name),
      [&](pqxx::read_transaction& transaction) { return FindFacilityId(transaction, name); });
}

}  // namespace hokan::archive
