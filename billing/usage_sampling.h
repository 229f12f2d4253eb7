#pragma once

// Daily usage samples (table usage_samples, schema 010): once per UTC day
// every facility's used bytes (from facility_usage, kept current by ingest
// and expiry) and the quota of its contract that day, priced per GB-month
// by the billing views. A sample taken after its day (the job ran late: a
// busy node, a restart after midnight) reads that day's closing usage, so
// the day is still charged. So is a day the archive did not run at all:
// its first poll after a start schedules the days since the last sample
// (at most 92 days back).

#include <cstdint>

#include "archive/rules/storage_period.h"

namespace hokan::archive {
class Database;
class JobQueue;
class JobRunner;
}  // namespace hokan::archive

namespace hokan::billing {

// The job kind that takes a day's samples.
inline constexpr const char* kUsageSampleJobKind = "usage-sample";

// Writes the samples of `day` for every facility that existed by its end:
// the used bytes at the end of `day` (the usage now minus the changes
// recorded after it, schema 017: today's sample is the usage now; 0
// without usage) and the quota of the contract version not superseded that
// holds `day` (NULL without one). A facility already sampled that day keeps
// its sample (INSERT ... ON CONFLICT DO NOTHING), so running it twice, or
// on two nodes, writes once. Returns the samples written. Throws
// hokan::Error(kDatabase) when PostgreSQL fails.
int TakeUsageSamples(archive::Database& database, const archive::CivilDate& day);

// Registers the sampling on `runner` (before its Start()): a scheduler that
// at every poll enqueues the day's "usage-sample" job once (payload
// {"day": "YYYY-MM-DD"}, dedupe key "usage-sample:YYYY-MM-DD", the UTC date
// of hokan::Now(), so every node enqueues it once) and, at its first poll,
// the jobs of the days after the last sampled day up to yesterday (at most
// 92; none before the first sample ever taken), and the handler that
// runs TakeUsageSamples for that day, also when it runs after the day (it
// then samples the day's closing usage); a day not begun yet (another
// node's clock ahead) is retried later. All arguments must outlive the
// runner.
void RegisterUsageSampleJobs(archive::JobRunner& runner, archive::JobQueue& queue,
                             archive::Database& database);

}  // namespace hokan::billing
