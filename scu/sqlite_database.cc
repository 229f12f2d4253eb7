#include "scu/sqlite_database.h"

#include <fmt/format.h>

#include <system_error>

#include "archive/common/error.h"

namespace hokan::relay {

std::int64_t ToMicros(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

TimePoint FromMicros(std::int64_t micros) {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

SqliteDatabase::SqliteDatabase(const std::filesystem::path& file, std::string component,
                               const std::vector<const char*>& migrations)
    : file_(file), component_(std::move(component)) {
  std::error_code error;
  std::filesystem::create_directories(file_.parent_path(), error);
  if (error) {
    throw Error(ErrorCode::kStorage,
                fmt::format("{}: cannot create its folder: {}", Name(), error.message()));
  }
  if (sqlite3_open_v2(file_.c_str(), &handle_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string reason = handle_ ? sqlite3_errmsg(handle_) : "out of memory";
    sqlite3_close_v2(handle_);
    throw Error(ErrorCode::kStorage, fmt::format("{}: cannot open: {}", Name(), reason));
  }
  try {
    sqlite3_busy_timeout(handle_, 10000);
    Execute("PRAGMA journal_mode=WAL");
    Execute("PRAGMA synchronous=FULL");
    Execute("PRAGMA foreign_keys=ON");
    SqliteTransaction transaction(*this);
    Execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, "
        "version INTEGER NOT NULL)");
    std::int64_t version = 0;
    {
      SqliteStatement query(*this, "SELECT version FROM schema_versions WHERE component = ?1");
      query.Bind(1, component_);
      if (query.Step()) version = query.Int(0);
    }
    const auto known = static_cast<std::int64_t>(migrations.size());
    if (version > known) {
      throw Error(ErrorCode::kStorage,
                  fmt::format("{}: schema version {} is newer than this hokan-forward knows ({})",
                              Name(), version, known));
    }
    if (version < known) {
      for (std::int64_t step = version; step < known; ++step) Execute(migrations[step]);
      SqliteStatement record(*this,
                             "INSERT INTO schema_versions (component, version) VALUES (?1, ?2) "
                             "ON CONFLICT (component) DO UPDATE SET version = excluded.version");
      record.Bind(1, component_).Bind(2, known).Step();
    }
    transaction.Commit();
  } catch (...) {
    sqlite3_close_v2(handle_);
    throw;
  }
}

SqliteDatabase::~SqliteDatabase() { sqlite3_close_v2(handle_); }

std::string SqliteDatabase::Name() const {
  return fmt::format("{} {}", component_, file_.string());
}

void SqliteDatabase::Execute(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(handle_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errmsg(handle_);
    sqlite3_free(message);
    throw Error(ErrorCode::kStorage, fmt::format("{}: {}", Name(), text));
  }
}

void SqliteDatabase::Fail(const std::string& what) const {
  throw Error(ErrorCode::kStorage,
              fmt::format("{}: {}: {}", Name(), what, sqlite3_errmsg(handle_)));
}

SqliteStatement::SqliteStatement(const SqliteDatabase& database, const std::string& sql)
    : database_(database) {
  if (sqlite3_prepare_v2(database_.handle(), sql.c_str(), -1, &statement_, nullptr) !=
      SQLITE_OK) {
    database_.Fail("cannot prepare a statement");
  }
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

void SqliteStatement::Check(int result, const char* what) const {
  if (result != SQLITE_OK) database_.Fail(what);
}

SqliteStatement& SqliteStatement::Bind(int index, const std::string& value) {
  Check(sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT),
        "cannot bind a value");
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, std::int64_t value) {
  Check(sqlite3_bind_int64(statement_, index, value), "cannot bind a value");
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, const std::optional<TimePoint>& value) {
  return value ? Bind(index, ToMicros(*value)) : BindNull(index);
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  Check(sqlite3_bind_null(statement_, index), "cannot bind a value");
  return *this;
}

bool SqliteStatement::Step() {
  const int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  database_.Fail("statement failed");
}

void SqliteStatement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t SqliteStatement::Int(int column) const {
  return sqlite3_column_int64(statement_, column);
}

bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::string SqliteStatement::Text(int column) const {
  const auto* text = sqlite3_column_text(statement_, column);
  return text ? std::string(reinterpret_cast<const char*>(text),
                            static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
              : std::string();
}

std::optional<TimePoint> SqliteStatement::Time(int column) const {
  if (IsNull(column)) return std::nullopt;
  return FromMicros(Int(column));
}

SqliteTransaction::SqliteTransaction(SqliteDatabase& database) : database_(database) {
  database_.Execute("BEGIN IMMEDIATE");
}

SqliteTransaction::~SqliteTransaction() {
  if (!done_) sqlite3_exec(database_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::Commit() {
  database_.Execute("COMMIT");
  done_ = true;
}

}  // namespace hokan::relay
