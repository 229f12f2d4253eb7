#include "scu/pull_sync.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "scu/sqlite_database.h"
#include "dicom/dimse_status.h"
#include "dcmtk/config/osconfig.h"  // must come first
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"

namespace hokan::relay {

namespace {


bool IsPending(std::uint16_t status) { return status == dicom::status::kPending || status == dicom::status::kPendingWarning; }

// The pulled-studies record and the schedule/watermark, in the spool
// queue's SQLite file (its own connection). Not thread-safe: the caller
// serialises.
const std::vector<const char*> kPullMigrations = {
    R"sql(
CREATE TABLE IF NOT EXISTS pull_studies (
  study_instance_uid TEXT PRIMARY KEY,
  number_of_instances INTEGER NOT NULL,
  pulled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pull_state (
  name TEXT PRIMARY KEY CHECK (name IN ('last_sync_started_at', 'last_complete_sync_at')),
  value TEXT NOT NULL
);
)sql",
};

class PullHistory {
 public:
  explicit PullHistory(const std::filesystem::path& file)
      : database_(file, "pull history", kPullMigrations) {}

  // Instances recorded for a pulled study; nullopt when never pulled.
  std::optional<std::int64_t> PulledInstances(const std::string& study_uid) {
    SqliteStatement statement(database_,
                              "SELECT number_of_instances FROM pull_studies "
                              "WHERE study_instance_uid = ?1");
    statement.Bind(1, study_uid);
    if (!statement.Step()) return std::nullopt;
    return statement.Int(0);
  }

  void RecordPulled(const std::string& study_uid, std::int64_t instances, TimePoint at) {
    SqliteStatement statement(database_,
                              "INSERT INTO pull_studies (study_instance_uid, "
                              "number_of_instances, pulled_at) VALUES (?1, ?2, ?3) "
                              "ON CONFLICT (study_instance_uid) DO UPDATE SET "
                              "number_of_instances = excluded.number_of_instances, "
                              "pulled_at = excluded.pulled_at");
    statement.Bind(1, study_uid).Bind(2, instances).Bind(3, FormatUtc(at));
    statement.Step();
  }

  std::optional<TimePoint> State(const std::string& name) {
    SqliteStatement statement(database_, "SELECT value FROM pull_state WHERE name = ?1");
    statement.Bind(1, name);
    if (!statement.Step()) return std::nullopt;
    const std::string text = statement.Text(0);
    auto parsed = ParseUtc(text);
    if (!parsed) {
      throw Error(ErrorCode::kStorage,
                  fmt::format("{}: {} holds a bad time '{}'", database_.Name(), name, text));
    }
    return parsed;
  }

  void SetState(const std::string& name, TimePoint value) {
    SqliteStatement statement(database_,
                              "INSERT INTO pull_state (name, value) VALUES (?1, ?2) "
                              "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
    statement.Bind(1, name).Bind(2, FormatUtc(value));
    statement.Step();
  }

 private:
  SqliteDatabase database_;
};

constexpr const char* kLastSyncStarted = "last_sync_started_at";
constexpr const char* kLastCompleteSync = "last_complete_sync_at";

// A study the PACS answered.
struct FoundStudy {
  std::string study_uid;
  std::optional<std::int64_t> instances;  // NumberOfStudyRelatedInstances, when answered
};

// One association to the facility PACS for C-FIND and C-MOVE (Study Root).
class PacsAssociation {
 public:
  // Returns "" when open, else why not.
  std::string Open(const RelayConfig& config) {
    scu_.setAETitle(config.ae_title.c_str());
    scu_.setPeerAETitle(config.pull_ae_title->c_str());
    scu_.setPeerHostName(config.pull_host.c_str());
    scu_.setPeerPort(static_cast<Uint16>(config.pull_port));
    scu_.setACSETimeout(static_cast<Uint32>(config.acse_timeout_seconds));
    scu_.setConnectionTimeout(config.acse_timeout_seconds);
    scu_.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    scu_.setDIMSETimeout(static_cast<Uint32>(config.dimse_timeout_seconds));
    OFList<OFString> syntaxes;
    syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
    syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
    scu_.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel, syntaxes);
    scu_.addPresentationContext(UID_MOVEStudyRootQueryRetrieveInformationModel, syntaxes);
    OFCondition condition = scu_.initNetwork();
    if (condition.good()) condition = scu_.negotiateAssociation();
    if (condition.bad()) return condition.text();
    find_context_ =
        scu_.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, "");
    move_context_ =
        scu_.findPresentationContextID(UID_MOVEStudyRootQueryRetrieveInformationModel, "");
    if (find_context_ == 0 || move_context_ == 0) {
      return "the PACS accepted no Study Root C-FIND or C-MOVE presentation context";
    }
    return "";
  }

  ~PacsAssociation() {
    if (scu_.isConnected()) scu_.releaseAssociation();
  }

  // C-FIND at STUDY level; `date_range` "" for every study. Throws
  // std::runtime_error with the reason when the C-FIND fails.
  std::vector<FoundStudy> FindStudies(const std::string& date_range) {
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
    keys.putAndInsertString(DCM_StudyInstanceUID, "");
    keys.putAndInsertString(DCM_StudyDate, date_range.c_str());
    keys.putAndInsertString(DCM_StudyTime, "");
    keys.putAndInsertString(DCM_NumberOfStudyRelatedInstances, "");
    OFList<QRResponse*> responses;
    const OFCondition condition = scu_.sendFINDRequest(find_context_, &keys, &responses);
    std::vector<FoundStudy> studies;
    std::optional<std::uint16_t> final_status;
    for (QRResponse* response : responses) {
      if (IsPending(response->m_status) && response->m_dataset) {
        OFString uid, count;
        response->m_dataset->findAndGetOFString(DCM_StudyInstanceUID, uid);
        FoundStudy study{uid.c_str(), std::nullopt};
        if (response->m_dataset->findAndGetOFString(DCM_NumberOfStudyRelatedInstances, count)
                .good() &&
            !count.empty()) {
          try {
            study.instances = std::stoll(count.c_str());
          } catch (const std::exception&) {
            // not a number: treated as unanswered
          }
        }
        if (!study.study_uid.empty()) studies.push_back(std::move(study));
      } else if (!IsPending(response->m_status)) {
        final_status = response->m_status;
      }
      delete response;
    }
    if (condition.bad())
      throw std::runtime_error(std::string("C-FIND failed: ") + condition.text());
    if (final_status.value_or(0xFFFF) != dicom::status::kSuccess) {
      throw std::runtime_error(
          fmt::format("C-FIND answered status 0x{:04X}", final_status.value_or(0xFFFF)));
    }
    return studies;
  }

  struct MoveOutcome {
    bool association_lost = false;
    std::uint16_t status = 0xFFFF;
    int completed = 0, failed = 0, warnings = 0;
    std::string reason;
  };

  MoveOutcome MoveStudy(const std::string& study_uid, const std::string& destination) {
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
    keys.putAndInsertString(DCM_StudyInstanceUID, study_uid.c_str());
    OFList<RetrieveResponse*> responses;
    const OFCondition condition =
        scu_.sendMOVERequest(move_context_, destination.c_str(), &keys, &responses);
    MoveOutcome outcome;
    for (RetrieveResponse* response : responses) {
      outcome.status = response->m_status;
      outcome.completed = response->m_numberOfCompletedSubops;
      outcome.failed = response->m_numberOfFailedSubops;
      outcome.warnings = response->m_numberOfWarningSubops;
      delete response;
    }
    if (condition.bad()) {
      outcome.association_lost = !scu_.isConnected() || condition == DUL_PEERABORTEDASSOCIATION ||
                                 condition == DUL_PEERREQUESTEDRELEASE ||
                                 condition == DIMSE_NODATAAVAILABLE;
      outcome.reason = condition.text();
      outcome.status = 0xFFFF;
    } else if (outcome.status != dicom::status::kSuccess) {
      outcome.reason = fmt::format("status 0x{:04X}", outcome.status);
    }
    return outcome;
  }

 private:
  DcmSCU scu_;
  T_ASC_PresentationContextID find_context_ = 0;
  T_ASC_PresentationContextID move_context_ = 0;
};

}  // namespace

std::string PullStudyDateRange(const std::optional<TimePoint>& last_complete_sync) {
  if (!last_complete_sync) return "";
  const std::time_t seconds =
      std::chrono::system_clock::to_time_t(*last_complete_sync - std::chrono::hours(24));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}{:02}{:02}-", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
}

struct PullSync::Impl {
  Impl(const RelayConfig& relay_config, const std::filesystem::path& database_file)
      : config(relay_config), history(database_file) {}

  PullSummary Sync();

  RelayConfig config;
  std::mutex sync_mutex;  // one sync at a time; guards history
  PullHistory history;
  std::mutex wake_mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;
};

PullSummary PullSync::Impl::Sync() {
  PullSummary summary;
  std::optional<TimePoint> started;
  std::string since = "-";
  try {
    started = Now();
    since = PullStudyDateRange(history.State(kLastCompleteSync));
    PacsAssociation pacs;
    summary.error = pacs.Open(config);
    if (summary.error.empty()) {
      const auto found = pacs.FindStudies(since);
      std::map<std::string, std::optional<std::int64_t>> unique;
      for (const auto& study : found) unique[study.study_uid] = study.instances;
      summary.found = static_cast<int>(unique.size());
      std::vector<std::pair<std::string, std::optional<std::int64_t>>> wanted;
      for (const auto& [uid, instances] : unique) {
        const auto pulled = history.PulledInstances(uid);
        if (!pulled || (instances && *instances > *pulled)) wanted.emplace_back(uid, instances);
      }
      summary.new_studies = static_cast<int>(wanted.size());
      for (const auto& [uid, instances] : wanted) {
        {
          std::lock_guard<std::mutex> lock(wake_mutex);
          if (stopping) {
            summary.error = "stopped";
            break;
          }
        }
        const auto outcome = pacs.MoveStudy(uid, config.ae_title);
        summary.instances += outcome.completed;
        if (outcome.status == dicom::status::kSuccess) {
          ++summary.moved;
          history.RecordPulled(
              uid, std::max<std::int64_t>(instances.value_or(0), outcome.completed), Now());
          Log(LogLevel::kDebug, "pull: study {} moved, {} instance(s)", uid, outcome.completed);
        } else {
          Log(LogLevel::kWarn,
              "pull: C-MOVE of study {} from {} to {}: {} ({} completed, {} failed, {} "
              "warning(s)); "
              "tried again at the next sync",
              uid, *config.pull_ae_title, config.ae_title, outcome.reason, outcome.completed,
              outcome.failed, outcome.warnings);
          if (outcome.association_lost) {
            summary.error = "association lost during C-MOVE: " + outcome.reason;
            break;
          }
        }
      }
      summary.failed = summary.new_studies - summary.moved;
    }
  } catch (const std::exception& error) {
    summary.error = error.what();
    summary.failed = summary.new_studies - summary.moved;
  }
  try {
    if (started) {
      history.SetState(kLastSyncStarted, *started);
      if (summary.error.empty() && summary.failed == 0)
        history.SetState(kLastCompleteSync, *started);
    }
  } catch (const std::exception& error) {
    if (summary.error.empty()) summary.error = error.what();
  }
  const std::string line = fmt::format(
      "pull sync from {}@{}:{} (study date {}): found {}, new {}, moved {}, failed {}, "
      "{} instance(s)",
      config.pull_ae_title.value_or("?"), config.pull_host, config.pull_port,
      since.empty() ? "any" : since, summary.found, summary.new_studies, summary.moved,
      summary.failed, summary.instances);
  if (summary.error.empty() && summary.failed == 0) {
    Log(LogLevel::kInfo, "{}", line);
  } else {
    Log(LogLevel::kWarn, "{}{}", line, summary.error.empty() ? "" : "; stopped: " + summary.error);
  }
  return summary;
}

PullSync::PullSync(const RelayConfig& config, const std::filesystem::path& database_file) {
  if (!config.pull_ae_title || config.pull_ae_title->empty()) {
    throw Error(ErrorCode::kConfiguration, "[pull] ae_title is required for pull mode");
  }
  impl_ = std::make_unique<Impl>(config, database_file);
}

PullSync::~PullSync() { Stop(); }

bool PullSync::Due(TimePoint now) {
  std::lock_guard<std::mutex> lock(impl_->sync_mutex);
  const auto last = impl_->history.State(kLastSyncStarted);
  return !last || now >= *last + impl_->config.pull_interval;
}

PullSummary PullSync::SyncOnce() {
  std::lock_guard<std::mutex> lock(impl_->sync_mutex);
  return impl_->Sync();
}

void PullSync::Start() {
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->wake_mutex);
    impl_->stopping = false;
  }
  Log(LogLevel::kInfo, "pull mode: syncing from {}@{}:{} every {} s", *impl_->config.pull_ae_title,
      impl_->config.pull_host, impl_->config.pull_port, impl_->config.pull_interval.count());
  impl_->thread = std::thread([this] {
    for (;;) {
      try {
        if (Due(Now())) SyncOnce();
      } catch (const std::exception& error) {
        Log(LogLevel::kError, "pull mode: {}", error.what());
      }
      std::unique_lock<std::mutex> lock(impl_->wake_mutex);
      impl_->wake.wait_for(lock, impl_->config.poll_interval, [this] { return impl_->stopping; });
      if (impl_->stopping) return;
    }
  });
}

void PullSync::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->wake_mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
}

}  // namespace hokan::relay
