#pragma once

// A database per archive instance, and a small SQL helper for assertions.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hokan::integration {

// Creates a uniquely named database (hokan_it_<pid>_<n>, TEMPLATE
// template0) on the server of `admin_conninfo` (a key=value conninfo whose
// user may CREATE DATABASE) and drops it WITH (FORCE) on destruction (kept
// when HOKAN_IT_KEEP is set). Throws std::runtime_error naming the server
// when creation fails. Not copyable.
class ThrowawayDatabase {
 public:
  explicit ThrowawayDatabase(std::string admin_conninfo);
  ~ThrowawayDatabase();
  ThrowawayDatabase(const ThrowawayDatabase&) = delete;
  ThrowawayDatabase& operator=(const ThrowawayDatabase&) = delete;

  const std::string& name() const { return name_; }
  // admin_conninfo + " dbname=<name>" (libpq: the last dbname wins).
  std::string conninfo() const;

 private:
  std::string admin_conninfo_;
  std::string name_;
};

// One row of text values; NULL is std::nullopt.
using SqlRow = std::vector<std::optional<std::string>>;

// Read-mostly access to a database for test assertions. Each call runs in
// its own transaction on one connection opened lazily (and re-opened after
// it breaks). Parameters are $1, $2, ... text values. Throws
// std::runtime_error with the query on any database error.
class Sql {
 public:
  explicit Sql(std::string conninfo);
  ~Sql();
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  std::vector<SqlRow> Query(const std::string& query, const std::vector<std::string>& params = {});

  // The single value of a one-row, one-column result (NULL → "").
  // REQUIRES: the query returns exactly one row and one column.
  std::string Value(const std::string& query, const std::vector<std::string>& params = {});

  // Value() as an integer, e.g. for SELECT count(*).
  std::int64_t Count(const std::string& query, const std::vector<std::string>& params = {});

  // Runs a statement (INSERT/UPDATE/DDL) and commits.
  void Execute(const std::string& statement, const std::vector<std::string>& params = {});

  // Closes the connection (e.g. before the database is dropped).
  void Disconnect();

 private:
  struct Impl;
  std::string conninfo_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hokan::integration
