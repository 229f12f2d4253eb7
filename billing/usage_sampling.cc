#include "billing/usage_sampling.h"

#include <fmt/format.h>

#include <memory>
#include <pqxx/pqxx>
#include <regex>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/contract_admin_terms.h"
#include "archive/index/database.h"
#include "archive/index/job_queue.h"
#include "archive/index/sql/transaction.h"
#include "archive/jobs/job_runner.h"

namespace hokan::billing {
namespace {

// How far back a start-up looks for days without samples.
constexpr int kMaxCatchUpDays = 92;

// The day of a payload {"day": "YYYY-MM-DD"}; nullopt when it has none.
std::optional<archive::CivilDate> PayloadDay(const std::string& payload) {
  static const std::regex kDay(R"re("day"\s*:\s*"([0-9]{4}-[0-9]{2}-[0-9]{2})")re");
  std::smatch match;
  if (!std::regex_search(payload, match, kDay)) return std::nullopt;
  return archive::ParseIsoDate(match[1].str());
}

// Enqueues the sample job of `day` once (dedupe key "usage-sample:<day>").
void EnqueueDay(archive::JobQueue& queue, const std::string& day, TimePoint now) {
  if (queue.Enqueue(kUsageSampleJobKind, fmt::format(R"({{"day": "{}"}})", day), now,
                    fmt::format("{}:{}", kUsageSampleJobKind, day))) {
    Log(LogLevel::kDebug, "usage samples of {} scheduled", day);
  }
}

// The days after the last one sampled and before `today` (days the archive
// did not run), oldest first, at most kMaxCatchUpDays of them.
std::vector<std::string> MissedDays(archive::Database& database, const archive::CivilDate& today) {
  const std::string today_text = archive::FormatIsoDate(today);
  return archive::sql::ReadOnly(
      database, "find days without usage samples", [&](pqxx::read_transaction& transaction) {
        const auto rows = transaction.exec_params(
            "SELECT to_char(day, 'YYYY-MM-DD') "
            "  FROM (SELECT max(sample_day) AS last FROM usage_samples "
            "         WHERE sample_day < $1::date) sampled, "
            "       generate_series(greatest(sampled.last + 1, $1::date - $2::int), "
            "                       $1::date - 1, interval '1 day') AS day "
            " WHERE sampled.last IS NOT NULL",
            today_text, kMaxCatchUpDays);
        std::vector<std::string> days;
        for (const auto& row : rows) days.push_back(row[0].as<std::string>());
        return days;
      });
}

}  // namespace

int TakeUsageSamples(archive::Database& database, const archive::CivilDate& day) {
  const std::string day_text = archive::FormatIsoDate(day);
  return archive::sql::ReadWrite(
      database, fmt::format("take the usage samples of {}", day_text),
      [&](pqxx::work& transaction) {
        const auto written = transaction.exec_params(
            "WITH day_end AS (SELECT (($1::date + 1)::timestamp AT TIME ZONE 'UTC') AS at), "
            // What changed after the day: folded (by day, schema 017) and not yet folded.
            "later AS ("
            "  SELECT facility_id, sum(used_bytes) AS used_bytes FROM ("
            "    SELECT facility_id, used_bytes FROM facility_usage_days "
            "     WHERE change_day > $1::date "
            "    UNION ALL "
            "    SELECT d.facility_id, d.used_bytes FROM facility_usage_deltas d, day_end "
            "     WHERE d.recorded_at >= day_end.at) changes "
            "   GROUP BY facility_id) "
            "INSERT INTO usage_samples (facility_id, sample_day, used_bytes, quota_bytes, "
            "                           taken_at) "
            "SELECT f.id, $1::date, "
            "       greatest(coalesce(u.used_bytes, 0) - coalesce(l.used_bytes, 0), 0), "
            "       (SELECT c.quota_bytes FROM contracts c "
            "         WHERE c.facility_id = f.id AND c.superseded_at IS NULL "
            "           AND $1::date BETWEEN c.starts_on AND c.ends_on), $2::timestamptz "
            "  FROM day_end, facilities f "
            "  LEFT JOIN facility_usage u ON u.facility_id = f.id "
            "  LEFT JOIN later l ON l.facility_id = f.id "
            " WHERE f.created_at < day_end.at "
            "ON CONFLICT (facility_id, sample_day) DO NOTHING "
            "RETURNING facility_id",
            day_text, FormatUtcMicroseconds(Now()));
        return static_cast<int>(written.size());
      });
}

void RegisterUsageSampleJobs(archive::JobRunner& runner, archive::JobQueue& queue,
                             archive::Database& database) {
  // The last day this node enqueued: saves an INSERT per poll.
  auto last_day = std::make_shared<std::string>();
  runner.Schedule(kUsageSampleJobKind, [&queue, &database, last_day] {
    const TimePoint now = Now();
    const std::string day = archive::FormatIsoDate(archive::DateOf(now));
    if (*last_day == day) return;
    if (last_day->empty()) {  // this run's first poll: the days it was not running
      const std::vector<std::string> missed = MissedDays(database, archive::DateOf(now));
      if (!missed.empty()) {
        Log(LogLevel::kInfo, "usage samples of {} day(s) not sampled ({} to {}) scheduled",
            missed.size(), missed.front(), missed.back());
      }
      for (const auto& missed_day : missed) EnqueueDay(queue, missed_day, now);
    }
    EnqueueDay(queue, day, now);
    *last_day = day;
  });
  runner.Handle(kUsageSampleJobKind, [&database](const archive::Job& job) {
    archive::JobResult result;
    result.retry_after = std::chrono::seconds(300);
    const auto day = PayloadDay(job.payload);
    if (!day) {
      Log(LogLevel::kError, "usage sample job {}: payload {} has no day; dropped", job.id,
          job.payload);
      return result;
    }
    if (archive::FormatIsoDate(archive::DateOf(Now())) < archive::FormatIsoDate(*day)) {
      result.done = false;  // enqueued by a node whose clock is ahead: not yet
      result.note = "the day has not begun";
      return result;
    }
    const int written = TakeUsageSamples(database, *day);
    Log(LogLevel::kInfo, "usage sample job {}: {} facilities sampled for {}", job.id, written,
        archive::FormatIsoDate(*day));
    return result;
  });
}

}  // namespace hokan::billing
