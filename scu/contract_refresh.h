#pragma once

// How hokan-forward follows its facility contract's backup timing: it asks
// the archive (AskArchiveContract) at start and every
// contract_refresh_seconds, hands what it learned to the forwarder, and
// remembers it in the queue database, so that a restart while the archive
// is down keeps the contract's timing rather than the file's.

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "archive/common/clock.h"
#include "scu/contract_timing.h"
#include "scu/relay_config.h"
#include "scu/sqlite_database.h"

namespace hokan::relay {

// What `hokan-forward status` shows of the timing (table relay_timing).
struct TimingState {
  EffectiveTiming in_use;                  // what the forwarder follows
  std::optional<TimePoint> learned_at;     // when in_use came from the archive
  std::optional<TimePoint> last_asked_at;  // the last N-GET, answered or not
  std::string last_error;                  // of the last N-GET; empty: answered
};

// The relay_timing table of the queue database. Thread-safe.
class TimingMemory {
 public:
  explicit TimingMemory(const std::filesystem::path& database_file);
  // The last state recorded; nullopt when the relay never recorded one.
  std::optional<TimingState> Read();
  void Record(const TimingState& state);

 private:
  SqliteDatabase database_;
};

// Keeps `use` (the forwarder's UseTiming) on the contract's timing. Logs
// at info level what it follows when that changes, one warning when the
// contract's timing differs from the file's ("contract 12 (facility X)
// says nightly at 02:00 UTC, hokan-forward.ini says on receipt; following
// the contract"), once per change, and one warning per outage when the
// archive cannot be asked or refuses (the timing in use then stays: the
// last one learned, remembered across restarts, or else the file's).
class ContractRefresh {
 public:
  using UseTiming = std::function<void(const EffectiveTiming&)>;
  ContractRefresh(const RelayConfig& config, UseTiming use);
  ~ContractRefresh();  // Stop()s
  ContractRefresh(const ContractRefresh&) = delete;
  ContractRefresh& operator=(const ContractRefresh&) = delete;

  // Applies the remembered contract timing, if any, then asks at once and
  // every contract_refresh_seconds on a thread of its own. Nothing when
  // contract_refresh_seconds is 0.
  void Start();
  void Stop();  // idempotent

 private:
  void Run();
  void AskOnce();
  // Follows `timing` from now on; logs the change and any mismatch with the file.
  void Follow(const EffectiveTiming& timing, const std::string& how);
  void Record();

  const RelayConfig config_;
  const EffectiveTiming file_timing_;
  UseTiming use_;
  TimingMemory memory_;
  TimingState state_;  // only the refresh thread changes it after Start
  bool in_outage_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hokan::relay
