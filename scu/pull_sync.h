#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "archive/common/clock.h"
#include "scu/relay_config.h"

namespace hokan::relay {

// What one pull sync did (also written to the log as one line).
struct PullSummary {
  int found = 0;        // studies the PACS answered to the C-FIND
  int new_studies = 0;  // of those, not pulled yet or grown since
  int moved = 0;        // of those, C-MOVEd completely (final status success)
  int failed = 0;       // of those, not (or not completely) moved; tried again next sync
  int instances = 0;    // C-STORE sub-operations the PACS completed
  std::string error;    // why the sync stopped early (association, C-FIND); "" when it did not
};

// The study-date lower bound of the next C-FIND: "" (every study) before
// the first complete sync, else "YYYYMMDD-" one day before the last
// complete sync's start (a day of overlap: StudyDate is the facility's
// local date, the watermark UTC).
std::string PullStudyDateRange(const std::optional<TimePoint>& last_complete_sync);

// Pull mode ([pull] in the relay configuration): the relay syncs from the
// facility's own PACS. A sync opens one association to pull_ae_title at
// pull_host:pull_port as the relay's AE title, C-FINDs (Study Root, STUDY
// level: StudyInstanceUID, StudyDate, StudyTime,
// NumberOfStudyRelatedInstances) the studies dated since the last complete
// sync (PullStudyDateRange), and C-MOVEs to the relay's own AE title every
// study it has not pulled before, or that has more instances now than when
// it was pulled. The PACS must know the relay's AE title as a move
// destination; the relay's SCP receives and spools the instances.
//
// What was pulled is kept in two tables (pull_studies, pull_state) in the
// spool queue's SQLite file, so a restart neither pulls twice nor forgets.
// A study is recorded only when its C-MOVE ended with status success; the
// watermark advances only when the whole sync succeeded, so failures are
// retried at the next sync.
//
// Scheduling: a sync is due when none ran yet (at start-up) and then
// pull_interval after the previous sync's start, by hokan::Now() (so tests
// move HOKAN_TEST_CLOCK_FILE instead of sleeping); Start() checks every
// poll_interval. Thread-safe; one sync runs at a time.
class PullSync {
 public:
  // REQUIRES: config.pull_ae_title set. Opens (creating its tables in)
  // `database_file`; throws hokan::Error(kStorage) naming the file when it
  // cannot.
  PullSync(const RelayConfig& config, const std::filesystem::path& database_file);
  ~PullSync();  // Stop()s
  PullSync(const PullSync&) = delete;
  PullSync& operator=(const PullSync&) = delete;

  // True when a sync is due at `now` (see above).
  bool Due(TimePoint now);

  // Runs one sync now, whatever the schedule. Never throws: failures are in
  // the summary (and the log).
  PullSummary SyncOnce();

  // Starts the scheduling thread; returns at once. Stop() finishes the sync
  // in progress, if any, and joins it. Both idempotent.
  void Start();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hokan::relay
