#include "archive/index/job_queue.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/database.h"

namespace hokan::archive {
namespace {

constexpr const char* kEnqueueSql = R"sql(
INSERT INTO jobs (kind, payload, run_after, dedupe_key, created_at)
VALUES ($1, $2::jsonb, $3::timestamptz, $4, $5::timestamptz)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id)sql";

// Session advisory lock class of running jobs ("HKJB"); the second key is
// the job id's low 32 bits. Held on the runner's connection while the job
// runs, released on completion or when the session ends (a node that dies).
constexpr int kJobLockClass = 0x484B4A42;

}  // namespace

JobQueue::JobQueue(Database& database, std::string node)
    : database_(database), node_(std::move(node)) {}

std::optional<std::int64_t> JobQueue::Enqueue(pqxx::transaction_base& transaction,
                                              const std::string& kind,
                                              const std::string& payload, TimePoint run_after,
                                              const std::optional<std::string>& dedupe_key) {
  const pqxx::result result =
      transaction.exec_params(kEnqueueSql, kind, payload, FormatUtc(run_after), dedupe_key,
                              FormatUtcMicroseconds(Now()));
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
  // The connection stays leased while the job runs: it holds the job's
  // session advisory lock, and no transaction is open during the work.
  auto lease = database_.Acquire();
  pqxx::connection& connection = lease.connection();
  std::optional<Job> claimed;
  try {
    {
      // Candidates are claimed with FOR UPDATE SKIP LOCKED (rows another
      // node is claiming this instant are skipped); a job whose advisory
      // lock another node holds is running there. The row locks end with
      // this short transaction; the session lock stays for the run.
      pqxx::work transaction(connection);
      const pqxx::result candidates = transaction.exec_params(
          "SELECT id, kind, payload::text, attempts + 1, max_attempts FROM jobs "
          "WHERE state = 'pending' AND kind = ANY ($1::text[]) AND run_after <= $2::timestamptz "
          "ORDER BY run_after, id LIMIT 16 FOR UPDATE SKIP LOCKED",
          TextArrayLiteral(kinds), FormatUtc(Now()));
      for (const auto& row : candidates) {
        const auto id = row[0].as<std::int64_t>();
        if (transaction
                .exec_params("SELECT pg_try_advisory_lock($1, $2::bigint::bit(32)::integer)",
                             kJobLockClass, id)[0][0]
                .as<bool>()) {
          claimed = Job{id, row[1].as<std::string>(), row[2].as<std::string>(),
                        row[3].as<int>(), row[4].as<int>()};
          break;
        }
      }
      transaction.commit();
    }
    if (!claimed) return false;

    JobResult result;
    try {
      result = handler(*claimed);
    } catch (const std::exception& error) {
      result.done = false;
      result.note = error.what();
    }
    const Job& job = *claimed;
    const TimePoint finished = Now();
    pqxx::work transaction(connection);
    if (result.done) {
      transaction.exec_params(
          "UPDATE jobs SET state = 'done', attempts = $2, done_by = $3, "
          "finished_at = $4::timestamptz, last_error = '' WHERE id = $1 AND state = 'pending'",
          job.id, job.attempts, node_, FormatUtcMicroseconds(finished));
    } else {
      const bool give_up = job.attempts >= job.max_attempts;
      Log(give_up ? LogLevel::kError : LogLevel::kWarn, "job {} ({}) attempt {}/{}: {}{}",
          job.id, job.kind, job.attempts, job.max_attempts, result.note,
          give_up ? "; giving up" : "");
      transaction.exec_params(
          "UPDATE jobs SET state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END, "
          "attempts = $2, last_error = $3, done_by = $6, "
          "run_after = $4::timestamptz, finished_at = CASE WHEN $5 THEN $7::timestamptz END "
          "WHERE id = $1 AND state = 'pending'",
          job.id, job.attempts, result.note, FormatUtc(finished + result.retry_after), give_up,
          node_, FormatUtcMicroseconds(finished));
    }
    transaction.commit();
    pqxx::nontransaction session(connection);
    session.exec_params("SELECT pg_advisory_unlock($1, $2::bigint::bit(32)::integer)",
                        kJobLockClass, job.id);
    return true;
  } catch (const pqxx::broken_connection& error) {
    lease.MarkBroken();  // the session lock died with it
    throw Error(ErrorCode::kDatabase, fmt::format("run a job: {}", error.what()));
  } catch (const pqxx::failure& error) {
    lease.MarkBroken();  // drop the session, and with it any lock it holds
    throw Error(ErrorCode::kDatabase, fmt::format("run a job: {}", error.what()));
  }
}

}  // namespace hokan::archive
