#include "archive/index/sql/transaction.h"

#include <random>
#include <thread>

#include "archive/common/log.h"

namespace hokan::archive::sql {

void PauseBeforeRetry(const TransactionPolicy& policy, int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const auto ceiling = policy.pause.count() * (attempt - 1);
  std::uniform_int_distribution<long long> milliseconds(ceiling / 2 + 1, ceiling);
  std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds(random)));
}

bool ShouldRetry(const TransactionPolicy& policy, const pqxx::failure& error, int attempt) {
  if (!policy.retry || attempt >= policy.attempts) return false;
  bool transient = dynamic_cast<const pqxx::serialization_failure*>(&error) != nullptr ||
                   dynamic_cast<const pqxx::deadlock_detected*>(&error) != nullptr;
  if (const auto* sql_error = dynamic_cast<const pqxx::sql_error*>(&error)) {
    const std::string& state = sql_error->sqlstate();
    transient = transient || state == "40001" || state == "40P01" ||
                (policy.retry_lock_timeout && state == "55P03");
  }
  if (transient) {
    Log(LogLevel::kInfo, "{}: {}; retrying (attempt {} of {})", policy.what, error.what(),
        attempt + 1, policy.attempts);
  }
  return transient;
}

}  // namespace hokan::archive::sql
