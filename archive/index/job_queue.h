#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"

namespace hokan::archive {

class Database;

// One durable job (table jobs, schema 005).
struct Job {
  std::int64_t id = 0;
  std::string kind;      // e.g. "expire", "commitment-report", "offline-export"
  std::string payload;   // JSON text, the kind's own format
  int attempts = 0;      // including this run
  int max_attempts = 0;
};

// What a job handler did.
struct JobResult {
  bool done = true;  // false: run again after retry_after (counts as an attempt)
  std::chrono::seconds retry_after{60};
  std::string note;  // kept in jobs.last_error when not done
};

// Durable background work in PostgreSQL, shared by every node on the
// database. Thread-safe.
class JobQueue {
 public:
  // `database` must outlive the queue. `node` names this node in jobs.done_by.
  JobQueue(Database& database, std::string node);

  // Adds a job runnable from `run_after`. With a dedupe_key, a job with the
  // same key (pending or finished) makes this a no-op: returns nullopt.
  // Otherwise returns the new job's id. Throws hokan::Error(kDatabase).
  std::optional<std::int64_t> Enqueue(const std::string& kind, const std::string& payload,
                                      TimePoint run_after,
                                      const std::optional<std::string>& dedupe_key = {});

  // (The index enqueues inside its own transactions with EnqueueJob,
  // archive/index/sql/index_sql.h.)

  // Claims one pending job of `kinds` whose run_after is not after Now()
  // and that no other node runs (SELECT … FOR UPDATE SKIP LOCKED, then a
  // session advisory lock on the job, held
  // while it runs and released when the node's session ends: a node that
  // dies frees its job for the others), runs handler(job) with no
  // transaction open, then records the outcome: done, retry (run_after
  // moved, attempts counted) or, after max_attempts, failed. A handler that
  // throws counts as a retry with the exception's message. Returns false
  // when no job was runnable. Handlers must be idempotent: a node that dies
  // after the work but before recording it leaves the job to run again.
  // Throws hokan::Error(kDatabase) when PostgreSQL fails.
  bool RunOne(const std::vector<std::string>& kinds,
              const std::function<JobResult(const Job&)>& handler);

 private:
  Database& database_;
  std::string node_;
};

}  // namespace hokan::archive
