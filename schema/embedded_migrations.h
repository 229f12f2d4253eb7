#pragma once

#include <string>
#include <vector>

namespace hokan::schema {

// One numbered SQL migration from schema/NNN_name.sql.
struct Migration {
  int version;       // NNN
  std::string name;  // file name without .sql
  std::string sql;   // whole file; applied in one transaction
};

// The migrations compiled into this binary, in ascending version order.
const std::vector<Migration>& EmbeddedMigrations();

}  // namespace hokan::schema
