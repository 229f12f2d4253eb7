#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace hokan::archive::sql {

// The connections behind a Database. Each connection is used by one thread
// at a time through a Lease. Connections are opened lazily and reopened
// after they break; each session runs without JIT and without parallel
// workers (short index lookups only). Statements are prepared on a
// connection when first used there (sql/statement.h). Thread-safe.
class ConnectionPool {
 public:
  // Throws hokan::Error(kDatabase) when the first connection cannot be
  // opened, with libpq's reason (the conninfo itself is never logged).
  ConnectionPool(std::string conninfo, int pool_size);

  // Exclusive use of one open connection until the Lease is destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    ~Lease();
    pqxx::connection& connection() { return *connection_; }
    // The connection failed mid-use: drop it instead of reusing it.
    void MarkBroken() { broken_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* owner, std::unique_ptr<pqxx::connection> connection);
    ConnectionPool* owner_;
    std::unique_ptr<pqxx::connection> connection_;
    bool broken_ = false;
  };

  // Waits for a free connection; opens one if the pool has room.
  // Throws hokan::Error(kDatabase) if a new connection cannot be opened.
  Lease Acquire();

 private:
  std::unique_ptr<pqxx::connection> Open();
  void Return(std::unique_ptr<pqxx::connection> connection, bool broken);

  std::string conninfo_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_count_ = 0;
  int pool_size_;
};

}  // namespace hokan::archive::sql
