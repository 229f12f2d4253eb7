#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schema/embedded_migrations.h"

namespace hokan::archive {

namespace sql {
class ConnectionPool;
}

// hokan's PostgreSQL database: a small pool of connections, each used by
// one thread at a time. Connections are opened lazily and reopened after
// they break. The index classes (archive/index) and billing run their SQL
// on it; nothing above them sees a connection. Thread-safe.
class Database {
 public:
  // Opens the first connection. Throws hokan::Error(kDatabase) when it
  // cannot be opened, with libpq's reason (the conninfo is never logged).
  Database(std::string conninfo, int pool_size);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The connections (archive/index/sql/connection_pool.h), for the index's
  // and billing's SQL files only.
  sql::ConnectionPool& pool() { return *pool_; }

 private:
  std::unique_ptr<sql::ConnectionPool> pool_;
};

// A PostgreSQL array literal of text values, e.g. {"a","b\\"c"}, to pass
// a list as one parameter ($n::text[]).
std::string TextArrayLiteral(const std::vector<std::string>& values);

// The id of the facility named `name`, read in its own transaction;
// nullopt when there is none. Throws hokan::Error(kDatabase).
std::optional<std::int64_t> FindFacilityId(Database& database, const std::string& name);

// Checks that migrations have unique, ascending, positive versions.
// Throws hokan::Error(kInternal) naming the first offending migration.
void ValidateMigrationOrder(const std::vector<schema::Migration>& migrations);

// Applies, in order, each migration the database has not recorded yet,
// each in its own transaction together with its row in schema_migrations.
// Safe to run from several nodes at once (an advisory lock serialises
// them) and a no-op when everything is applied. Throws hokan::Error
// (kDatabase) naming the failing migration, or when the database records a
// version this binary does not know (it is newer than the binary).
// Returns the number of migrations applied.
int ApplyMigrations(Database& database, const std::vector<schema::Migration>& migrations);

}  // namespace hokan::archive
