#include "scu/contract_refresh.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "scu/commitment_client.h"

namespace hokan::relay {
namespace {

const std::vector<const char*> kTimingMigrations = {
    R"sql(
CREATE TABLE relay_timing (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  timing TEXT NOT NULL CHECK (timing IN ('on_receipt', 'nightly', 'per_exam')),
  nightly_at_minutes INTEGER,
  exam_quiet_minutes INTEGER NOT NULL,
  contract_id INTEGER,                 -- NULL: hokan-forward.ini's [timing]
  facility TEXT NOT NULL DEFAULT '',
  learned_at INTEGER,                  -- microseconds since 1970 (UTC)
  last_asked_at INTEGER,
  last_error TEXT NOT NULL DEFAULT ''
);
)sql",
};

const char* TimingKey(BackupTiming timing) {
  switch (timing) {
    case BackupTiming::kOnReceipt: return "on_receipt";
    case BackupTiming::kNightly: return "nightly";
    case BackupTiming::kPerExam: return "per_exam";
  }
  return "on_receipt";
}

BackupTiming TimingFromKey(const std::string& key) {
  if (key == "nightly") return BackupTiming::kNightly;
  if (key == "per_exam") return BackupTiming::kPerExam;
  return BackupTiming::kOnReceipt;
}

}  // namespace

TimingMemory::TimingMemory(const std::filesystem::path& database_file)
    : database_(database_file, "relay timing", kTimingMigrations) {}

std::optional<TimingState> TimingMemory::Read() {
  SqliteStatement read(database_,
                       "SELECT timing, nightly_at_minutes, exam_quiet_minutes, contract_id, "
                       "facility, learned_at, last_asked_at, last_error FROM relay_timing");
  if (!read.Step()) return std::nullopt;
  TimingState state;
  state.in_use.timing = TimingFromKey(read.Text(0));
  if (!read.IsNull(1)) state.in_use.nightly_at = std::chrono::minutes(read.Int(1));
  state.in_use.exam_quiet = std::chrono::minutes(read.Int(2));
  if (!read.IsNull(3)) state.in_use.contract_id = read.Int(3);
  state.in_use.facility = read.Text(4);
  state.learned_at = read.Time(5);
  state.last_asked_at = read.Time(6);
  state.last_error = read.Text(7);
  return state;
}

void TimingMemory::Record(const TimingState& state) {
  SqliteStatement write(
      database_,
      "INSERT OR REPLACE INTO relay_timing (id, timing, nightly_at_minutes, exam_quiet_minutes, "
      "contract_id, facility, learned_at, last_asked_at, last_error) "
      "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  write.Bind(1, std::string(TimingKey(state.in_use.timing)));
  if (state.in_use.nightly_at) {
    write.Bind(2, static_cast<std::int64_t>(state.in_use.nightly_at->count()));
  } else {
    write.BindNull(2);
  }
  write.Bind(3, static_cast<std::int64_t>(state.in_use.exam_quiet.count()));
  if (state.in_use.contract_id) {
    write.Bind(4, *state.in_use.contract_id);
  } else {
    write.BindNull(4);
  }
  write.Bind(5, state.in_use.facility).Bind(6, state.learned_at).Bind(7, state.last_asked_at);
  write.Bind(8, state.last_error);
  write.Step();
}

ContractRefresh::ContractRefresh(const RelayConfig& config, UseTiming use)
    : config_(config),
      file_timing_(FileTiming(config)),
      use_(std::move(use)),
      memory_(QueueDatabaseFile(config)) {
  state_.in_use = file_timing_;
}

ContractRefresh::~ContractRefresh() { Stop(); }

void ContractRefresh::Start() {
  if (config_.contract_refresh_seconds == 0) {
    Log(LogLevel::kInfo,
        "backup timing {} from hokan-forward.ini ([archive] contract_refresh_seconds = 0: the "
        "archive is not asked)",
        DescribeTiming(file_timing_));
    return;
  }
  const std::optional<TimingState> remembered = memory_.Read();
  if (remembered && remembered->in_use.contract_id) {
    state_ = *remembered;
    Follow(remembered->in_use,
           fmt::format("remembered from {}", remembered->learned_at
                                                 ? FormatUtc(*remembered->learned_at)
                                                 : std::string("an earlier run")));
  }
  Record();
  thread_ = std::thread([this] { Run(); });
}

void ContractRefresh::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ContractRefresh::Run() {
  const auto interval = std::chrono::seconds(config_.contract_refresh_seconds);
  while (true) {
    try {
      AskOnce();
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "asking the archive for the contract failed: {}", error.what());
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) return;
  }
}

void ContractRefresh::AskOnce() {
  ContractAnswer answer = AskArchiveContract(ArchiveTarget(config_));
  state_.last_asked_at = Now();
  std::optional<EffectiveTiming> learned;
  if (answer.error.empty() && answer.contract) {
    try {
      learned = TimingOfContract(*answer.contract);
    } catch (const Error& error) {
      answer.error = error.what();
    }
  } else if (answer.error.empty()) {
    answer.error = "no contract in the answer";
  }
  if (!learned) {
    state_.last_error = answer.error;
    if (!in_outage_) {
      in_outage_ = true;
      Log(LogLevel::kWarn,
          "cannot learn the backup timing from the archive: {}; falling back to the timing of "
          "{}: {}",
          answer.error, DescribeSource(state_.in_use), DescribeTiming(state_.in_use));
    }
    Record();
    return;
  }
  if (in_outage_) {
    in_outage_ = false;
    Log(LogLevel::kInfo, "the archive answers the contract again");
  }
  state_.last_error.clear();
  state_.learned_at = state_.last_asked_at;
  if (!SameSchedule(*learned, state_.in_use) ||
      learned->contract_id != state_.in_use.contract_id) {
    Follow(*learned, "learned from the archive");
  }
  state_.in_use = *learned;
  Record();
}

void ContractRefresh::Follow(const EffectiveTiming& timing, const std::string& how) {
  use_(timing);
  state_.in_use = timing;
  Log(LogLevel::kInfo, "backup timing {} from {} ({})", DescribeTiming(timing),
      DescribeSource(timing), how);
  if (!SameSchedule(timing, file_timing_)) {
    Log(LogLevel::kWarn, "{} says {}, hokan-forward.ini says {}; following the contract",
        DescribeSource(timing), DescribeTiming(timing), DescribeTiming(file_timing_));
  }
}

void ContractRefresh::Record() {
  try {
    memory_.Record(state_);
  } catch (const Error& error) {
    Log(LogLevel::kError, "{}", error.what());
  }
}

}  // namespace hokan::relay
