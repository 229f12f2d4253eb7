// archive/index/sql/transaction.h on a real PostgreSQL: two transactions
// that deadlock end with one of them run again and both committed, and a
// body that keeps failing is reported after the attempts run out.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/transaction.h"
#include "tests/integration/test_support.h"
#include "tests/integration/throwaway_database.h"

namespace hokan::integration {
namespace {

// Lets two threads go on only once both have arrived.
class Meeting {
 public:
  // Waits up to 30 s for the other thread; false if it never came.
  bool ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (++arrived_ == 2) changed_.notify_all();
    return changed_.wait_for(lock, std::chrono::seconds(30), [this] { return arrived_ >= 2; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
};

TEST_CASE("a deadlocked transaction runs again and both commit", "[database]") {
  ThrowawayDatabase throwaway(TestDatabaseUrl());
  archive::Database database(throwaway.conninfo(), 4);
  archive::sql::ReadWrite(database, "set up", [](pqxx::work& transaction) {
    transaction.exec("CREATE TABLE counters (id integer PRIMARY KEY, value integer NOT NULL)");
    transaction.exec("INSERT INTO counters VALUES (1, 0), (2, 0)");
  });

  Meeting both_hold_their_first_row;
  std::atomic<int> attempts{0};
  std::atomic<bool> met{true};
  // Each thread adds 1 to both rows, in opposite orders: on the first
  // attempt each holds one row and waits for the other's (a deadlock).
  auto add_to_both = [&](int first, int second) {
    bool first_attempt = true;
    archive::sql::ReadWrite(database, "add to both", [&](pqxx::work& transaction) {
      ++attempts;
      transaction.exec_params("UPDATE counters SET value = value + 1 WHERE id = $1", first);
      if (first_attempt) {
        first_attempt = false;
        if (!both_hold_their_first_row.ArriveAndWait()) met = false;
      }
      transaction.exec_params("UPDATE counters SET value = value + 1 WHERE id = $1", second);
    });
  };
  std::thread one([&] { add_to_both(1, 2); });
  std::thread two([&] { add_to_both(2, 1); });
  one.join();
  two.join();

  REQUIRE(met);  // both threads held their first row at the same time
  CHECK(attempts == 3);  // PostgreSQL broke the deadlock by failing one
  const auto values = archive::sql::ReadOnly(
      database, "read", [](pqxx::read_transaction& transaction) {
        const auto result = transaction.exec("SELECT value FROM counters ORDER BY id");
        return std::make_pair(result[0][0].as<int>(), result[1][0].as<int>());
      });
  CHECK(values == std::make_pair(2, 2));
}

TEST_CASE("a transaction that keeps failing to serialize gives up after three attempts",
          "[database]") {
  ThrowawayDatabase throwaway(TestDatabaseUrl());
  archive::Database database(throwaway.conninfo(), 2);
  int attempts = 0;
  try {
    archive::sql::ReadWrite(database, "always conflicting", [&](pqxx::work& transaction) {
      ++attempts;
      transaction.exec("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$");
    });
    FAIL("no exception");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kDatabase);
    CHECK_THAT(error.what(), Catch::Matchers::StartsWith("always conflicting: "));
  }
  CHECK(attempts == archive::sql::kMaxAttempts);
}

}  // namespace
}  // namespace hokan::integration
