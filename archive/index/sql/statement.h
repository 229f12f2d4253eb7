#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).

#include <pqxx/pqxx>
#include <utility>

namespace hokan::archive::sql {

// A named SQL statement that runs often (per instance, per match, per job):
// prepared once per connection, on its first use there, and from then on
// executed by name. Names are unique across hokan ("hokan_…"); a name
// must always carry the same text.
struct Statement {
  const char* name;
  const char* text;
};

// Runs `statement` with `args` as $1, $2, … in `transaction`. The first
// call on a connection registers it (libpqxx prepares it on the server at
// its first execution); later calls only look the name up.
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& transaction, const Statement& statement, Args&&... args) {
  transaction.conn().prepare(statement.name, statement.text);
  return transaction.exec_prepared(statement.name, std::forward<Args>(args)...);
}

}  // namespace hokan::archive::sql
