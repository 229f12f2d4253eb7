#include <catch2/catch.hpp>

#include "archive/common/error.h"
#include "archive/index/database.h"
#include "schema/embedded_migrations.h"

using hokan::archive::ValidateMigrationOrder;
using hokan::schema::Migration;

TEST_CASE("the embedded migrations are numbered from 1 in ascending order") {
  const auto& migrations = hokan::schema::EmbeddedMigrations();
  REQUIRE_FALSE(migrations.empty());
  CHECK(migrations.front().version == 1);
  CHECK(migrations.front().name == "001_init");
  CHECK_NOTHROW(ValidateMigrationOrder(migrations));
  for (const auto& migration : migrations) CHECK_FALSE(migration.sql.empty());
}

TEST_CASE("duplicate or descending migration versions are refused") {
  const std::vector<Migration> duplicate = {{1, "001_a", "SELECT 1"}, {1, "001_b", "SELECT 1"}};
  const std::vector<Migration> descending = {{2, "002_a", "SELECT 1"}, {1, "001_b", "SELECT 1"}};
  const std::vector<Migration> zero = {{0, "000_a", "SELECT 1"}};
  CHECK_THROWS_WITH(ValidateMigrationOrder(duplicate), Catch::Contains("001_b"));
  CHECK_THROWS_WITH(ValidateMigrationOrder(descending), Catch::Contains("001_b"));
  CHECK_THROWS_AS(ValidateMigrationOrder(zero), hokan::Error);
}
