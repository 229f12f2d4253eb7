#pragma once

// The relay's durable state lives in one SQLite file in the spool folder;
// each part of the relay (the queue, the pull history, the modalities'
// commitment requests) opens its own connection to it and keeps its own
// tables. WAL lets the connections share the file.

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"

namespace hokan::relay {

// Microseconds since 1970 (UTC), as the relay's tables store times.
std::int64_t ToMicros(TimePoint time);
TimePoint FromMicros(std::int64_t micros);

// One connection (WAL, synchronous=FULL, foreign keys on, 10 s busy
// timeout). Opening brings `component`'s tables up to date: the steps of
// `migrations` not yet applied run once each, in order, in one
// transaction, and the version is recorded in table schema_versions. A file
// whose version is newer than `migrations` knows is refused. Every failure
// throws hokan::Error(kStorage) naming `component` and the file.
// The connection itself is serialised by SQLite; mutex() is for callers that
// need several statements to go together.
class SqliteDatabase {
 public:
  SqliteDatabase(const std::filesystem::path& file, std::string component,
                 const std::vector<const char*>& migrations);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  sqlite3* handle() const { return handle_; }
  const std::filesystem::path& file() const { return file_; }
  std::mutex& mutex() { return mutex_; }
  // "<component> <file>", the prefix of every error message.
  std::string Name() const;

  // Runs statements without parameters (schema, pragmas, BEGIN/COMMIT).
  void Execute(const char* sql);
  [[noreturn]] void Fail(const std::string& what) const;

 private:
  std::filesystem::path file_;
  std::string component_;
  sqlite3* handle_ = nullptr;
  std::mutex mutex_;
};

// One prepared statement, finalized when it goes out of scope. Parameters
// are numbered from 1, columns from 0.
class SqliteStatement {
 public:
  SqliteStatement(const SqliteDatabase& database, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& Bind(int index, const std::string& value);
  SqliteStatement& Bind(int index, std::int64_t value);
  SqliteStatement& Bind(int index, const std::optional<TimePoint>& value);  // NULL when empty
  SqliteStatement& BindNull(int index);

  // True while a row is available; throws when the statement fails.
  bool Step();
  // Ready to run again with new bindings.
  void Reset();

  std::int64_t Int(int column) const;
  bool IsNull(int column) const;
  std::string Text(int column) const;
  std::optional<TimePoint> Time(int column) const;  // from microseconds

 private:
  void Check(int result, const char* what) const;

  const SqliteDatabase& database_;
  sqlite3_stmt* statement_ = nullptr;
};

// BEGIN IMMEDIATE … COMMIT; rolled back when destroyed uncommitted.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDatabase& database);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void Commit();

 private:
  SqliteDatabase& database_;
  bool done_ = false;
};

}  // namespace hokan::relay
