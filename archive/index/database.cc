#include "archive/index/database.h"

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::archive {

Database::Database(std::string conninfo, int pool_size, PrepareFunction prepare)
    : conninfo_(std::move(conninfo)), prepare_(std::move(prepare)), pool_size_(pool_size) {
  auto first = Open();
  idle_.push_back(std::move(first));
  open_count_ = 1;
}

Database::~Database() = default;

std::unique_ptr<pqxx::connection> Database::Open() {
  try {
    auto connection = std::make_unique<pqxx::connection>(conninfo_);
    // hokan's statements are short index lookups: a parallel worker (about
    // 20 ms to start) or JIT compilation (about 18 ms, chosen by a cost
    // estimate that varies with ANALYZE's sample) costs more than it saves.
    // Measured with bench/find_bench.sh.
    pqxx::nontransaction session(*connection);
    session.exec("SET jit = off");
    session.exec("SET max_parallel_workers_per_gather = 0");
    session.commit();
    if (prepare_) prepare_(*connection);
    return connection;
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase,
                fmt::format("cannot connect to PostgreSQL: {}", error.what()));
  }
}

Database::Lease Database::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty() || open_count_ < pool_size_; });
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    if (connection->is_open()) return Lease(this, std::move(connection));
    --open_count_;
  }
  ++open_count_;
  lock.unlock();
  try {
    return Lease(this, Open());
  } catch (...) {
    std::lock_guard<std::mutex> relock(mutex_);
    --open_count_;
    available_.notify_one();
    throw;
  }
}

void Database::Return(std::unique_ptr<pqxx::connection> connection, bool broken) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (broken || !connection->is_open()) {
    --open_count_;
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

Database::Lease::Lease(Database* owner, std::unique_ptr<pqxx::connection> connection)
    : owner_(owner), connection_(std::move(connection)) {}

Database::Lease::Lease(Lease&& other) noexcept
    : owner_(other.owner_), connection_(std::move(other.connection_)), broken_(other.broken_) {
  other.owner_ = nullptr;
}

Database::Lease::~Lease() {
  if (owner_ && connection_) owner_->Return(std::move(connection_), broken_);
}

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

int ApplyMigrations(pqxx::connection& connection,
                    const std::vector<schema::Migration>& migrations) {
  ValidateMigrationOrder(migrations);
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

std::optional<std::int64_t> FindFacilityId(Database& database, const std::string& name) {
  return WithConnection(database, fmt::format("look up facility '{}'", name),
                        [&](pqxx::connection& connection) {
                          pqxx::read_transaction transaction(connection);
                          return FindFacilityId(transaction, name);
                        });
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

}  // namespace hokan::archive
