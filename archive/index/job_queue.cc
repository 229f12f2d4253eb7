#include "archive/index/job_queue.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/statement.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

const sql::Statement kEnqueue{"hokan_job_enqueue", R"sql(
INSERT INTO jobs (kind, payload, run_after, dedupe_key, created_at)
VALUES ($1, $2::jsonb, $3::timestamptz, $4, $5::timestamptz)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id)sql"};

// Session advisory lock class of running jobs ("HKJB"); the second key is
// the job id's low 32 bits. Held on the runner's connection while the job
// runs, released on completion or when the session ends (a node that dies).
constexpr int kJobLockClass = 0x484B4A42;

// The statements a job runs (per poll and per job): prepared once per
// connection.
const sql::Statement kClaimCandidates{
    "hokan_job_candidates",
    "SELECT id, kind, payload::text, attempts + 1, max_attempts FROM jobs "
    "WHERE state = 'pending' AND kind = ANY ($1::text[]) AND run_after <= $2::timestamptz "
    "ORDER BY run_after, id LIMIT 16 FOR UPDATE SKIP LOCKED"};
const sql::Statement kTryLockJob{"hokan_job_try_lock",
                                 "SELECT pg_try_advisory_lock($1, $2::bigint::bit(32)::integer)"};
const sql::Statement kUnlockJob{"hokan_job_unlock",
                                "SELECT pg_advisory_unlock($1, $2::bigint::bit(32)::integer)"};
const sql::Statement kJobDone{
    "hokan_job_done",
    "UPDATE jobs SET state = 'done', attempts = $2, done_by = $3, "
    "finished_at = $4::timestamptz, last_error = '' WHERE id = $1 AND state = 'pending'"};
const sql::Statement kJobRetry{
    "hokan_job_retry",
    "UPDATE jobs SET state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END, "
    "attempts = $2, last_error = $3, done_by = $6, "
    "run_after = $4::timestamptz, finished_at = CASE WHEN $5 THEN $7::timestamptz END "
    "WHERE id = $1 AND state = 'pending'"};

// Claims one runnable job of `kinds` on `lease`'s session. Candidates are
// claimed with FOR UPDATE SKIP LOCKED (rows another node is claiming this
// instant are skipped); a job whose advisory lock another node holds is
// running there. The row locks end with this short transaction; the session
// lock stays for the run. Not retried: the session lock is taken outside
// the transaction and would outlive a rolled-back attempt (the caller drops
// the session on failure instead).
std::optional<Job> Claim(sql::ConnectionPool::Lease& lease, const std::vector<std::string>& kinds) {
  sql::TransactionPolicy policy{"claim a job"};
  policy.retry = false;
  return sql::TransactOn<pqxx::work>(
      lease, policy, [&](pqxx::work& transaction) -> std::optional<Job> {
        const pqxx::result candidates =
            sql::Exec(transaction, kClaimCandidates, TextArrayLiteral(kinds), FormatUtc(Now()));
        for (const auto& row : candidates) {
          const auto id = row[0].as<std::int64_t>();
          if (sql::Exec(transaction, kTryLockJob, kJobLockClass, id)[0][0].as<bool>()) {
            return Job{id, row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<int>(),
                       row[4].as<int>()};
          }
        }
        return std::nullopt;
      });
}

// Records what the handler did: done, retry (run_after moved, attempts
// counted) or, after max_attempts, failed. Safe to re-run.
void RecordOutcome(sql::ConnectionPool::Lease& lease, const Job& job, const JobResult& result,
                   const std::string& node) {
  const TimePoint finished = Now();
  const bool give_up = !result.done && job.attempts >= job.max_attempts;
  if (!result.done) {
    Log(give_up ? LogLevel::kError : LogLevel::kWarn, "job {} ({}) attempt {}/{}: {}{}", job.id,
        job.kind, job.attempts, job.max_attempts, result.note, give_up ? "; giving up" : "");
  }
  sql::TransactOn<pqxx::work>(lease, sql::TransactionPolicy{fmt::format("record job {}", job.id)},
                              [&](pqxx::work& transaction) {
                                if (result.done) {
                                  sql::Exec(transaction, kJobDone, job.id, job.attempts, node,
                                            FormatUtcMicroseconds(finished));
                                } else {
                                  sql::Exec(transaction, kJobRetry, job.id, job.attempts,
                                            result.note, FormatUtc(finished + result.retry_after),
                                            give_up, node, FormatUtcMicroseconds(finished));
                                }
                              });
}

}  // namespace

JobQueue::JobQueue(Database& database, std::string node)
    : database_(database), node_(std::move(node)) {}

std::optional<std::int64_t> EnqueueJob(pqxx::transaction_base& transaction, const std::string& kind,
                                       const std::string& payload, TimePoint run_after,
                                       const std::optional<std::string>& dedupe_key) {
  const pqxx::result result = sql::Exec(transaction, kEnqueue, kind, payload, FormatUtc(run_after),
                                        dedupe_key, FormatUtcMicroseconds(Now()));
  if (result.empty()) return std::nullopt;
  return result[0][0].as<std::int64_t>();
}

std::optional<std::int64_t> JobQueue::Enqueue(const std::string& kind, const std::string& payload,
                                              TimePoint run_after,
                                              const std::optional<std::string>& dedupe_key) {
  return sql::ReadWrite(database_, fmt::format("enqueue a {} job", kind),
                        [&](pqxx::work& transaction) {
                          return EnqueueJob(transaction, kind, payload, run_after, dedupe_key);
                        });
}

bool JobQueue::RunOne(const std::vector<std::string>& kinds,
                      const std::function<JobResult(const Job&)>& handler) {
  // The connection stays leased while the job runs: it holds the job's
  // session advisory lock, and no transaction is open during the work.
  auto lease = database_.pool().Acquire();
  try {
    const std::optional<Job> claimed = Claim(lease, kinds);
    if (!claimed) return false;
    JobResult result;
    try {
      result = handler(*claimed);
    } catch (const std::exception& error) {
      result.done = false;
      result.note = error.what();
    }
    RecordOutcome(lease, *claimed, result, node_);
    pqxx::nontransaction session(lease.connection());
    sql::Exec(session, kUnlockJob, kJobLockClass, claimed->id);
    return true;
  } catch (const pqxx::failure& error) {
    lease.MarkBroken();  // drop the session, and with it any lock it holds
    throw Error(ErrorCode::kDatabase, fmt::format("run a job: {}", error.what()));
  } catch (const Error&) {
    lease.MarkBroken();  // drop the session, and with it any lock it holds
    throw;
  }
}

}  // namespace hokan::archive
