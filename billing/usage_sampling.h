#pragma once

// Daily usage samples (table usage_samples, schema 010): once per UTC day
// every facility's used bytes (from facility_usage, kept current by ingest
// and expiry) and the quota of its contract that day, priced per GB-month
// by the billing views. A day the archive did not run has no sample and is
// not charged.

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

// Writes the samples of `day` for every facility: used bytes now (0 without
// a facility_usage row) and the quota of the contract version not
// superseded that holds `day` (NULL without one). A facility already
// sampled that day keeps its sample (INSERT ... ON CONFLICT DO NOTHING), so
// running it twice, or on two nodes, writes once. Returns the samples
// written. Throws hokan::Error(kDatabase) when PostgreSQL fails.
int TakeUsageSamples(archive::Database& database, const archive::CivilDate& day);

// Registers the sampling on `runner` (before its Start()): a scheduler that
// at every poll enqueues the day's "usage-sample" job once (payload
// {"day": "YYYY-MM-DD"}, dedupe key "usage-sample:YYYY-MM-DD", the UTC date
// of hokan::Now(), so every node enqueues it once), and the handler that
// runs TakeUsageSamples for that day while it is still that day (a job
// left over from an earlier day is done without sampling: today's usage is
// not that day's). All arguments must outlive the runner.
void RegisterUsageSampleJobs(archive::JobRunner& runner, archive::JobQueue& queue,
                             archive::Database& database);

}  // namespace hokan::billing
