#include "archive/jobs/job_queue.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/database.h"

namespace hokan::archive {
namespace {

constexpr const char* kEnqueueSql = R"sql(
INSERT INTO jobs (kind, payload, run_after, dedupe_key)
VALUES ($1, $2::jsonb, $3::timestamptz, $4)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id)sql";

}  // namespace

JobQueue::JobQueue(Database& database, std::string node)
    : database_(database), node_(std::move(node)) {}

std::optional<std::int64_t> JobQueue::Enqueue(pqxx::transaction_base& transaction,
                                              const std::string& kind,
                                              const std::string& payload, TimePoint run_after,
                                              const std::optional<std::string>& dedupe_key) {
  const pqxx::result result =
      transaction.exec_params(kEnqueueSql, kind, payload, FormatUtc(run_after), dedupe_key);
  if (result.empty()) return std::nullopt;
  return result[0][0].as<std::int64_t>();
}

std::optional<std::int64_t> JobQueue::Enqueue(const std::string& kind, const std::string& payload,
                                              TimePoint run_after,
                                              const std::optional<std::string>& dedupe_key) {
  return WithConnection(database_, fmt::format("enqueue a {} job", kind),
                        [&](pqxx::connection& connection) {
                          pqxx::work transaction(connection);
                          auto id = Enqueue(transaction, kind, payload, run_after, dedupe_key);
                          transaction.commit();
                          return id;
                        });
}

bool JobQueue::RunOne(const std::vector<std::string>& kinds,
                      const std::function<JobResult(const Job&)>& handler) {
  return WithConnection(database_, "run a job", [&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    const pqxx::result claimed = transaction.exec_params(
        "SELECT id, kind, payload::text, attempts + 1, max_attempts FROM jobs "
        "WHERE state = 'pending' AND kind = ANY ($1::text[]) AND run_after <= $2::timestamptz "
        "ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED",
        TextArrayLiteral(kinds), FormatUtc(Now()));
    if (claimed.empty()) return false;
    Job job;
    job.id = claimed[0][0].as<std::int64_t>();
    job.kind = claimed[0][1].as<std::string>();
    job.payload = claimed[0][2].as<std::string>();
    job.attempts = claimed[0][3].as<int>();
    job.max_attempts = claimed[0][4].as<int>();

    JobResult result;
    try {
      result = handler(job);
    } catch (const std::exception& error) {
      result.done = false;
      result.note = error.what();
    }
    if (result.done) {
      transaction.exec_params(
          "UPDATE jobs SET state = 'done', attempts = $2, done_by = $3, finished_at = now(), "
          "last_error = '' WHERE id = $1",
          job.id, job.attempts, node_);
    } else {
      const bool give_up = job.attempts >= job.max_attempts;
      Log(give_up ? LogLevel::kError : LogLevel::kWarn, "job {} ({}) attempt {}/{}: {}{}",
          job.id, job.kind, job.attempts, job.max_attempts, result.note,
          give_up ? "; giving up" : "");
      transaction.exec_params(
          "UPDATE jobs SET state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END, "
          "attempts = $2, last_error = $3, done_by = $6, "
          "run_after = $4::timestamptz, finished_at = CASE WHEN $5 THEN now() END "
          "WHERE id = $1",
          job.id, job.attempts, result.note, FormatUtc(Now() + result.retry_after), give_up,
          node_);
    }
    transaction.commit();
    return true;
  });
}

}  // namespace hokan::archive
