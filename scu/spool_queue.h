#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"

namespace hokan::relay {

// The states of a spooled instance.
//   spooled  -> (due by the timing) sending -> sent -> committed -> purged
//   sending/sent -> spooled again for a retry (attempts, next_attempt_at)
//   any unsent state -> parked (permanent failure, with its reason)
enum class ItemState { kSpooled, kSending, kSent, kCommitted, kParked, kPurged };

const char* ItemStateName(ItemState state);

// One spooled instance.
struct SpoolItem {
  std::int64_t id = 0;
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::string transfer_syntax_uid;
  std::string study_instance_uid;
  std::string patient_id;
  std::string modality;
  std::string source;  // "store:<calling AE>", "import", "pull"
  std::filesystem::path file;  // absolute
  std::int64_t size_bytes = 0;
  std::string sha256_hex;
  ItemState state = ItemState::kSpooled;
  TimePoint received_at;
  int attempts = 0;
  std::optional<TimePoint> next_attempt_at;
  std::string last_error;
  std::optional<std::string> commitment_transaction_uid;
  std::optional<TimePoint> committed_at;
};

// Counts and ages for `hokan-forward status`.
struct QueueStatus {
  std::int64_t spooled = 0, sending = 0, sent = 0, committed = 0, parked = 0, purged = 0;
  std::int64_t unsent_bytes = 0, spool_bytes = 0;  // files still on disk
  std::optional<TimePoint> oldest_unsent;
  std::optional<TimePoint> last_success;
  std::vector<SpoolItem> parked_items;  // with their reasons
};

// The relay's durable queue: an SQLite database in the spool folder (WAL,
// synchronous=FULL), so every state change survives kill -9. Thread-safe.
// Every method throws hokan::Error(kStorage) naming what failed.
class SpoolQueue {
 public:
  explicit SpoolQueue(const std::filesystem::path& database_file);
  ~SpoolQueue();
  SpoolQueue(const SpoolQueue&) = delete;
  SpoolQueue& operator=(const SpoolQueue&) = delete;

  // Records a spooled instance (its file already durable). A SOP Instance
  // UID already queued with the same checksum is not added again (returns
  // its id); with another checksum the new file replaces an unsent one.
  std::int64_t Add(const SpoolItem& item);

  // Items in state spooled whose next_attempt_at is not after `now`,
  // oldest first, at most `limit`.
  std::vector<SpoolItem> Due(TimePoint now, int limit);

  // Study UIDs with spooled items whose newest received_at is before `quiet_since`.
  std::vector<std::string> QuietStudies(TimePoint quiet_since);

  // State transitions; each is one durable transaction.
  void MarkSending(const std::vector<std::int64_t>& ids);
  void MarkSent(std::int64_t id, const std::string& transaction_uid);
  // The same for a whole batch, in one transaction (one fsync).
  void MarkSent(const std::vector<std::int64_t>& ids, const std::string& transaction_uid);
  void Retry(std::int64_t id, TimePoint next_attempt_at, const std::string& error);
  void Park(std::int64_t id, const std::string& reason);
  // Committed by the archive's N-EVENT-REPORT (by SOP Instance UID within the transaction).
  void MarkCommitted(const std::string& transaction_uid,
                     const std::vector<std::string>& sop_instance_uids, TimePoint at);
  void MarkPurged(std::int64_t id);
  // After a restart: items left in 'sending' go back to 'spooled' (the
  // archive's duplicate handling makes a re-send harmless).
  int RecoverInterrupted();

  std::vector<SpoolItem> InState(ItemState state, int limit);
  // The state of each of `sop_instance_uids` the queue knows (its newest
  // entry); a UID never queued is absent from the answer.
  std::map<std::string, ItemState> StatesOf(const std::vector<std::string>& sop_instance_uids);
  QueueStatus Status();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hokan::relay
