#include "archive/index/sql/connection_pool.h"

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive::sql {

ConnectionPool::ConnectionPool(std::string conninfo, int pool_size)
    : conninfo_(std::move(conninfo)), pool_size_(pool_size) {
  idle_.push_back(Open());
  open_count_ = 1;
}

std::unique_ptr<pqxx::connection> ConnectionPool::Open() {
  try {
    auto connection = std::make_unique<pqxx::connection>(conninfo_);
    // hokan's statements are short index lookups: a parallel worker (about
    // 20 ms to start) or JIT compilation (about 18 ms, chosen by a cost
    // estimate that varies with ANALYZE's sample) costs more than it saves.
    // Measured with bench/find_bench.sh.
    pqxx::nontransaction session(*connection);
    session.exec("SET jit = off");
    session.exec("SET max_parallel_workers_per_gather = 0");
    session.commit();
    return connection;
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase,
                fmt::format("cannot connect to PostgreSQL: {}", error.what()));
  }
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty() || open_count_ < pool_size_; });
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    if (connection->is_open()) return Lease(this, std::move(connection));
    --open_count_;
  }
  ++open_count_;
  lock.unlock();
  try {
    return Lease(this, Open());
  } catch (...) {
    std::lock_guard<std::mutex> relock(mutex_);
    --open_count_;
    available_.notify_one();
    throw;
  }
}

void ConnectionPool::Return(std::unique_ptr<pqxx::connection> connection, bool broken) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (broken || !connection->is_open()) {
    --open_count_;
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

ConnectionPool::Lease::Lease(ConnectionPool* owner, std::unique_ptr<pqxx::connection> connection)
    : owner_(owner), connection_(std::move(connection)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : owner_(other.owner_), connection_(std::move(other.connection_)), broken_(other.broken_) {
  other.owner_ = nullptr;
}

ConnectionPool::Lease::~Lease() {
  if (owner_ && connection_) owner_->Return(std::move(connection_), broken_);
}

}  // namespace hokan::archive::sql
