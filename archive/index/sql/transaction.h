#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).
//
// The one way hokan runs a transaction: on a leased connection, committed
// when the body returns, rolled back when it throws, with pqxx failures
// translated to hokan::Error(kDatabase) "<what>: <reason>" (a hokan::Error
// thrown by the body passes through unchanged). A serialization failure
// (SQLSTATE 40001) or a deadlock (40P01) runs the body again, on a new
// transaction, up to kMaxAttempts in all with a short jittered pause; so a
// body given to a retrying helper must be safe to re-run: no effect outside
// its transaction (no files, no network, no caches) before it returns.

#include <fmt/format.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <utility>

#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/connection_pool.h"

namespace hokan::archive::sql {

constexpr int kMaxAttempts = 3;

// How a transaction is retried and its failures reported.
struct TransactionPolicy {
  std::string what;   // names what failed, e.g. "look up facility 'x'"
  bool retry = true;  // false: run once (the body has effects outside it)
  int attempts = kMaxAttempts;
  // Also retry a statement that gave up waiting for a lock (SQLSTATE 55P03,
  // lock_timeout): for bodies that set a short lock_timeout to give way.
  bool retry_lock_timeout = false;
  std::chrono::milliseconds pause{10};  // the first retry's longest pause
  // The code of a COMMIT whose outcome is unknown (the connection broke
  // during it).
  ErrorCode in_doubt = ErrorCode::kDatabase;
  // The code of a value PostgreSQL refused (SQLSTATE class 22).
  ErrorCode data_exception = ErrorCode::kDatabase;
};

// Sleeps before attempt `attempt` (2, 3, …): up to policy.pause times
// attempt - 1, jittered so that two conflicting transactions part ways.
void PauseBeforeRetry(const TransactionPolicy& policy, int attempt);

// Whether a failed attempt may run again under `policy`: a serialization
// failure, a deadlock or (when asked) a lock timeout, attempts left.
// Logs the retry.
bool ShouldRetry(const TransactionPolicy& policy, const pqxx::failure& error, int attempt);

// Runs body(Transaction&) in a transaction of type `Transaction` on
// `lease`'s connection and commits it; returns the body's result. See the
// file comment. With pqxx::nontransaction every statement of the body is
// its own transaction: use it only for a body of one statement.
template <typename Transaction, typename Body>
auto TransactOn(ConnectionPool::Lease& lease, const TransactionPolicy& policy, Body&& body)
    -> decltype(body(std::declval<Transaction&>())) {
  using Result = decltype(body(std::declval<Transaction&>()));
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) PauseBeforeRetry(policy, attempt);
    try {
      Transaction transaction(lease.connection());
      if constexpr (std::is_void_v<Result>) {
        body(transaction);
        transaction.commit();
        return;
      } else {
        Result result = body(transaction);
        transaction.commit();
        return result;
      }
    } catch (const pqxx::in_doubt_error& error) {
      lease.MarkBroken();
      throw Error(policy.in_doubt,
                  fmt::format("{}: commit outcome unknown: {}", policy.what, error.what()));
    } catch (const pqxx::broken_connection& error) {
      lease.MarkBroken();
      // Without BEGIN, each statement commits itself: a connection lost
      // while one ran leaves its outcome unknown.
      if constexpr (std::is_same_v<Transaction, pqxx::nontransaction>) {
        throw Error(policy.in_doubt,
                    fmt::format("{}: outcome unknown: {}", policy.what, error.what()));
      }
      throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", policy.what, error.what()));
    } catch (const pqxx::data_exception& error) {
      throw Error(policy.data_exception, fmt::format("{}: {}", policy.what, error.what()));
    } catch (const pqxx::failure& error) {
      if (!ShouldRetry(policy, error, attempt)) {
        throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", policy.what, error.what()));
      }
    }
  }
}

// The same on a connection leased from `database` for all attempts.
template <typename Transaction, typename Body>
auto Transact(Database& database, const TransactionPolicy& policy, Body&& body) {
  auto lease = database.pool().Acquire();
  return TransactOn<Transaction>(lease, policy, std::forward<Body>(body));
}

// A read-only transaction (read committed). Retried; see the file comment.
template <typename Body>
auto ReadOnly(Database& database, const std::string& what, Body&& body) {
  return Transact<pqxx::read_transaction>(database, TransactionPolicy{what},
                                          std::forward<Body>(body));
}

// A read-only transaction on one snapshot (repeatable read), for reports
// whose statements must agree with each other. Retried.
template <typename Body>
auto ReadOnlySnapshot(Database& database, const std::string& what, Body&& body) {
  using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;
  return Transact<Snapshot>(database, TransactionPolicy{what}, std::forward<Body>(body));
}

// A read-write transaction (read committed), committed when the body
// returns. Retried; see the file comment.
template <typename Body>
auto ReadWrite(Database& database, const std::string& what, Body&& body) {
  return Transact<pqxx::work>(database, TransactionPolicy{what}, std::forward<Body>(body));
}

// Runs work(pqxx::connection&) on a leased connection, for the few callers
// that manage transactions themselves (a session lock held across several
// transactions, migrations). Not retried. A pqxx failure becomes
// hokan::Error(kDatabase) "<what>: <reason>" and a broken connection is
// dropped from the pool; a hokan::Error thrown by `work` passes through.
template <typename Work>
auto WithConnection(Database& database, const std::string& what, Work&& work) {
  auto lease = database.pool().Acquire();
  try {
    return work(lease.connection());
  } catch (const pqxx::broken_connection& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", what, error.what()));
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase, fmt::format("{}: {}", what, error.what()));
  }
}

}  // namespace hokan::archive::sql
