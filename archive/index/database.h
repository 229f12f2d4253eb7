#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "schema/embedded_migrations.h"

namespace hokan::archive {

// A small pool of PostgreSQL connections. Each connection is used by one
// thread at a time through a Lease. Connections are opened lazily and
// reopened after they break; each session runs without JIT and without
// parallel workers (short index lookups only). `prepare` runs on every new connection to
// register its prepared statements. Thread-safe.
class Database {
 public:
  using PrepareFunction = std::function<void(pqxx::connection&)>;

  // Throws hokan::Error(kDatabase) when the first connection cannot be
  // opened, with libpq's reason (the conninfo itself is never logged).
  Database(std::string conninfo, int pool_size, PrepareFunction prepare);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Exclusive use of one open connection until the Lease is destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    ~Lease();
    pqxx::connection& connection() { return *connection_; }
    // The connection failed mid-use: drop it instead of reusing it.
    void MarkBroken() { broken_ = true; }

   private:
    friend class Database;
    Lease(Database* owner, std::unique_ptr<pqxx::connection> connection);
    Database* owner_;
    std::unique_ptr<pqxx::connection> connection_;
    bool broken_ = false;
  };

  // Waits for a free connection; opens one if the pool has room.
  // Throws hokan::Error(kDatabase) if a new connection cannot be opened.
  Lease Acquire();

 private:
  std::unique_ptr<pqxx::connection> Open();
  void Return(std::unique_ptr<pqxx::connection> connection, bool broken);

  std::string conninfo_;
  PrepareFunction prepare_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_count_ = 0;
  int pool_size_;
};

// A PostgreSQL array literal of text values, e.g. {"a","b\\"c"}, to pass
// a list as one parameter ($n::text[]).
std::string TextArrayLiteral(const std::vector<std::string>& values);

// The id of the facility named `name`; nullopt when there is none.
std::optional<std::int64_t> FindFacilityId(pqxx::transaction_base& transaction,
                                           const std::string& name);
// The same in its own read transaction. Throws hokan::Error(kDatabase).
std::optional<std::int64_t> FindFacilityId(Database& database, const std::string& name);
// The id, or hokan::Error(kInvalidInput) "<prefix>unknown facility 'NAME'".
std::int64_t RequireFacilityId(pqxx::transaction_base& transaction, const std::string& name,
                               const std::string& message_prefix = "");

// The non-NULL elements of a one-dimensional text[] result field.
std::vector<std::string> TextArrayValues(const pqxx::field& field);

// Runs `work(pqxx::connection&)` on a leased connection and returns its
// result. A pqxx failure becomes hokan::Error(kDatabase) "<what>: <reason>"
// and a broken connection is dropped from the pool; a hokan::Error thrown
// by `work` passes through unchanged.
template <typename Work>
auto WithConnection(Database& database, const std::string& what, Work&& work) {
  auto lease = database.Acquire();
  try {
    return work(lease.connection());
  } catch (const pqxx::broken_connection& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", what, error.what()));
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", what, error.what()));
  }
}

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
int ApplyMigrations(pqxx::connection& connection,
                    const std::vector<schema::Migration>& migrations);

}  // namespace hokan::archive
