#include "tests/integration/throwaway_database.h"

#include <unistd.h>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <atomic>
#include <iostream>
#include <stdexcept>

#include "tests/integration/test_support.h"

namespace hokan::integration {

namespace {
std::atomic<int> database_counter{0};
}  // namespace

ThrowawayDatabase::ThrowawayDatabase(std::string admin_conninfo)
    : admin_conninfo_(std::move(admin_conninfo)),
      name_(fmt::format("hokan_it_{}_{}", ::getpid(), database_counter++)) {
  try {
    pqxx::connection connection(admin_conninfo_);
    pqxx::nontransaction tx(connection);
    tx.exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
    tx.exec(fmt::format("CREATE DATABASE {} TEMPLATE template0", name_));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format(
        "cannot create the throwaway database {} on \"{}\" (HOKAN_TEST_DATABASE_URL): {}", name_,
        admin_conninfo_, e.what()));
  }
}

ThrowawayDatabase::~ThrowawayDatabase() {
  if (KeepArtifacts()) {
    std::cerr << "HOKAN_IT_KEEP: keeping database " << name_ << "\n";
    return;
  }
  try {
    pqxx::connection connection(admin_conninfo_);
    pqxx::nontransaction tx(connection);
    tx.exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
  } catch (const std::exception& e) {
    std::cerr << "warning: cannot drop throwaway database " << name_ << ": " << e.what() << "\n";
  }
}

std::string ThrowawayDatabase::conninfo() const { return admin_conninfo_ + " dbname=" + name_; }

struct Sql::Impl {
  std::unique_ptr<pqxx::connection> connection;
};

Sql::Sql(std::string conninfo) : conninfo_(std::move(conninfo)), impl_(std::make_unique<Impl>()) {}

Sql::~Sql() = default;

void Sql::Disconnect() { impl_->connection.reset(); }

std::vector<SqlRow> Sql::Query(const std::string& query, const std::vector<std::string>& params) {
  try {
    if (!impl_->connection || !impl_->connection->is_open()) {
      impl_->connection = std::make_unique<pqxx::connection>(conninfo_);
    }
    pqxx::work tx(*impl_->connection);
    pqxx::result result = tx.exec_params(query, pqxx::prepare::make_dynamic_params(params));
    tx.commit();
    std::vector<SqlRow> rows;
    for (const auto& row : result) {
      SqlRow values;
      for (const auto& field : row) {
        if (field.is_null()) {
          values.emplace_back(std::nullopt);
        } else {
          values.emplace_back(field.c_str());
        }
      }
      rows.push_back(std::move(values));
    }
    return rows;
  } catch (const pqxx::broken_connection& e) {
    impl_->connection.reset();
    throw std::runtime_error(fmt::format("SQL connection broken running {}: {}", query, e.what()));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("SQL failed: {}: {}", query, e.what()));
  }
}

std::string Sql::Value(const std::string& query, const std::vector<std::string>& params) {
  auto rows = Query(query, params);
  if (rows.size() != 1 || rows[0].size() != 1) {
    throw std::runtime_error(
        fmt::format("expected one value from {}, got {} rows", query, rows.size()));
  }
  return rows[0][0].value_or("");
}

std::int64_t Sql::Count(const std::string& query, const std::vector<std::string>& params) {
  return std::stoll(Value(query, params));
}

void Sql::Execute(const std::string& statement, const std::vector<std::string>& params) {
  Query(statement, params);
}

}  // namespace hokan::integration
