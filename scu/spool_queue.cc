#include "scu/spool_queue.h"

#include <fmt/format.h>

#include <mutex>
#include <system_error>

#include "archive/common/error.h"
#include "scu/sqlite_database.h"

namespace hokan::relay {
namespace {

// Schema versions; each step runs once, in order, inside one transaction.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  sop_instance_uid TEXT NOT NULL,
  sop_class_uid TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  study_instance_uid TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  modality TEXT NOT NULL,
  source TEXT NOT NULL,
  file TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  sha256_hex TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('spooled', 'sending', 'sent', 'committed', 'parked',
                                       'purged')),
  received_at INTEGER NOT NULL,          -- microseconds since 1970 (UTC)
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  commitment_transaction_uid TEXT,
  sent_at INTEGER,
  committed_at INTEGER
);
CREATE INDEX items_by_state ON items (state, received_at, id);
CREATE INDEX items_by_sop_instance ON items (sop_instance_uid);
CREATE INDEX items_by_study ON items (study_instance_uid);
CREATE INDEX items_by_transaction ON items (commitment_transaction_uid);
)sql",
};

constexpr const char* kColumns =
    "id, sop_instance_uid, sop_class_uid, transfer_syntax_uid, study_instance_uid, patient_id, "
    "modality, source, file, size_bytes, sha256_hex, state, received_at, attempts, "
    "next_attempt_at, last_error, commitment_transaction_uid, committed_at";

ItemState StateFromName(const std::string& name) {
  for (ItemState state : {ItemState::kSpooled, ItemState::kSending, ItemState::kSent,
                          ItemState::kCommitted, ItemState::kParked, ItemState::kPurged}) {
    if (name == ItemStateName(state)) return state;
  }
  throw Error(ErrorCode::kStorage, fmt::format("spool queue: unknown item state '{}'", name));
}

}  // namespace

const char* ItemStateName(ItemState state) {
  switch (state) {
    case ItemState::kSpooled: return "spooled";
    case ItemState::kSending: return "sending";
    case ItemState::kSent: return "sent";
    case ItemState::kCommitted: return "committed";
    case ItemState::kParked: return "parked";
    case ItemState::kPurged: return "purged";
  }
  return "?";
}

struct SpoolQueue::Impl {
  explicit Impl(const std::filesystem::path& file) : database(file, "spool queue", kMigrations) {}
  SqliteDatabase database;
};

namespace {

SpoolItem ReadItem(const SqliteStatement& row) {
  SpoolItem item;
  item.id = row.Int(0);
  item.sop_instance_uid = row.Text(1);
  item.sop_class_uid = row.Text(2);
  item.transfer_syntax_uid = row.Text(3);
  item.study_instance_uid = row.Text(4);
  item.patient_id = row.Text(5);
  item.modality = row.Text(6);
  item.source = row.Text(7);
  item.file = row.Text(8);
  item.size_bytes = row.Int(9);
  item.sha256_hex = row.Text(10);
  item.state = StateFromName(row.Text(11));
  item.received_at = FromMicros(row.Int(12));
  item.attempts = static_cast<int>(row.Int(13));
  item.next_attempt_at = row.Time(14);
  item.last_error = row.Text(15);
  if (!row.IsNull(16)) item.commitment_transaction_uid = row.Text(16);
  item.committed_at = row.Time(17);
  return item;
}

}  // namespace

SpoolQueue::SpoolQueue(const std::filesystem::path& database_file)
    : impl_(std::make_unique<Impl>(database_file)) {}

SpoolQueue::~SpoolQueue() = default;

std::int64_t SpoolQueue::Add(const SpoolItem& item) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteTransaction transaction(impl_->database);
  SqliteStatement existing(impl_->database, "SELECT id, sha256_hex, state, file FROM items WHERE sop_instance_uid = ?1 "
                     "AND state <> 'purged' ORDER BY id DESC");
  existing.Bind(1, item.sop_instance_uid);
  std::optional<std::int64_t> replaceable;
  std::filesystem::path replaced_file;
  while (existing.Step()) {
    if (existing.Text(1) == item.sha256_hex) {
      const std::int64_t id = existing.Int(0);
      transaction.Commit();
      return id;
    }
    const ItemState state = StateFromName(existing.Text(2));
    if (!replaceable && (state == ItemState::kSpooled || state == ItemState::kParked)) {
      replaceable = existing.Int(0);
      replaced_file = existing.Text(3);
    }
  }
  std::int64_t id = 0;
  if (replaceable) {
    SqliteStatement update(impl_->database, "UPDATE items SET sop_class_uid = ?2, transfer_syntax_uid = ?3, "
                     "study_instance_uid = ?4, patient_id = ?5, modality = ?6, source = ?7, "
                     "file = ?8, size_bytes = ?9, sha256_hex = ?10, state = 'spooled', "
                     "received_at = ?11, attempts = 0, next_attempt_at = NULL, last_error = '' "
                     "WHERE id = ?1");
    update.Bind(1, *replaceable).Bind(2, item.sop_class_uid).Bind(3, item.transfer_syntax_uid);
    update.Bind(4, item.study_instance_uid).Bind(5, item.patient_id).Bind(6, item.modality);
    update.Bind(7, item.source).Bind(8, item.file.string()).Bind(9, item.size_bytes);
    update.Bind(10, item.sha256_hex).Bind(11, ToMicros(item.received_at));
    update.Step();
    id = *replaceable;
  } else {
    SqliteStatement insert(impl_->database, "INSERT INTO items (sop_instance_uid, sop_class_uid, transfer_syntax_uid, "
                     "study_instance_uid, patient_id, modality, source, file, size_bytes, "
                     "sha256_hex, state, received_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'spooled', ?11)");
    insert.Bind(1, item.sop_instance_uid).Bind(2, item.sop_class_uid);
    insert.Bind(3, item.transfer_syntax_uid).Bind(4, item.study_instance_uid);
    insert.Bind(5, item.patient_id).Bind(6, item.modality).Bind(7, item.source);
    insert.Bind(8, item.file.string()).Bind(9, item.size_bytes).Bind(10, item.sha256_hex);
    insert.Bind(11, ToMicros(item.received_at));
    insert.Step();
    id = sqlite3_last_insert_rowid(impl_->database.handle());
  }
  transaction.Commit();
  // The replaced version is no longer referenced by the queue.
  if (replaceable && replaced_file != item.file) {
    std::error_code ignored;
    std::filesystem::remove(replaced_file, ignored);
  }
  return id;
}

std::vector<SpoolItem> SpoolQueue::Due(TimePoint now, int limit) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement query(impl_->database, fmt::format("SELECT {} FROM items WHERE state = 'spooled' AND "
                              "(next_attempt_at IS NULL OR next_attempt_at <= ?1) "
                              "ORDER BY received_at, id LIMIT ?2",
                              kColumns));
  query.Bind(1, ToMicros(now)).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<SpoolItem> items;
  while (query.Step()) items.push_back(ReadItem(query));
  return items;
}

std::vector<std::string> SpoolQueue::QuietStudies(TimePoint quiet_since) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement query(impl_->database, "SELECT study_instance_uid FROM items WHERE state <> 'purged' "
                  "GROUP BY study_instance_uid "
                  "HAVING SUM(state = 'spooled') > 0 AND MAX(received_at) < ?1 "
                  "ORDER BY MIN(received_at)");
  query.Bind(1, ToMicros(quiet_since));
  std::vector<std::string> studies;
  while (query.Step()) studies.push_back(query.Text(0));
  return studies;
}

void SpoolQueue::MarkSending(const std::vector<std::int64_t>& ids) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteTransaction transaction(impl_->database);
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'sending', attempts = attempts + 1 "
                   "WHERE id = ?1 AND state = 'spooled'");
  for (std::int64_t id : ids) {
    update.Bind(1, id);
    update.Step();
    update.Reset();
  }
  transaction.Commit();
}

void SpoolQueue::MarkSent(std::int64_t id, const std::string& transaction_uid) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'sent', commitment_transaction_uid = ?2, "
                   "sent_at = ?3, last_error = '', next_attempt_at = NULL WHERE id = ?1");
  update.Bind(1, id).Bind(2, transaction_uid).Bind(3, ToMicros(Now()));
  update.Step();
}

void SpoolQueue::MarkSent(const std::vector<std::int64_t>& ids,
                          const std::string& transaction_uid) {
  if (ids.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteTransaction transaction(impl_->database);
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'sent', commitment_transaction_uid = ?2, "
                   "sent_at = ?3, last_error = '', next_attempt_at = NULL WHERE id = ?1");
  const auto now = ToMicros(Now());
  for (std::int64_t id : ids) {
    update.Bind(1, id).Bind(2, transaction_uid).Bind(3, now);
    update.Step();
    update.Reset();
  }
  transaction.Commit();
}

void SpoolQueue::Retry(std::int64_t id, TimePoint next_attempt_at, const std::string& error) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'spooled', next_attempt_at = ?2, last_error = ?3 "
                   "WHERE id = ?1");
  update.Bind(1, id).Bind(2, ToMicros(next_attempt_at)).Bind(3, error);
  update.Step();
}

void SpoolQueue::Park(std::int64_t id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'parked', last_error = ?2, next_attempt_at = NULL "
                   "WHERE id = ?1");
  update.Bind(1, id).Bind(2, reason);
  update.Step();
}

void SpoolQueue::MarkCommitted(const std::string& transaction_uid,
                               const std::vector<std::string>& sop_instance_uids, TimePoint at) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteTransaction transaction(impl_->database);
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'committed', committed_at = ?3 "
                   "WHERE commitment_transaction_uid = ?1 AND sop_instance_uid = ?2 "
                   "AND state = 'sent'");
  for (const std::string& uid : sop_instance_uids) {
    update.Bind(1, transaction_uid).Bind(2, uid).Bind(3, ToMicros(at));
    update.Step();
    update.Reset();
  }
  transaction.Commit();
}

void SpoolQueue::MarkPurged(std::int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'purged' WHERE id = ?1");
  update.Bind(1, id);
  update.Step();
}

int SpoolQueue::RecoverInterrupted() {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement update(impl_->database, "UPDATE items SET state = 'spooled' WHERE state = 'sending'");
  update.Step();
  return sqlite3_changes(impl_->database.handle());
}

std::vector<SpoolItem> SpoolQueue::InState(ItemState state, int limit) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement query(impl_->database, fmt::format("SELECT {} FROM items WHERE state = ?1 ORDER BY received_at, id "
                              "LIMIT ?2",
                              kColumns));
  query.Bind(1, std::string(ItemStateName(state))).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<SpoolItem> items;
  while (query.Step()) items.push_back(ReadItem(query));
  return items;
}

std::map<std::string, ItemState> SpoolQueue::StatesOf(
    const std::vector<std::string>& sop_instance_uids) {
  std::lock_guard<std::mutex> lock(impl_->database.mutex());
  SqliteStatement query(impl_->database,
                        "SELECT state FROM items WHERE sop_instance_uid = ?1 "
                        "ORDER BY id DESC LIMIT 1");
  std::map<std::string, ItemState> states;
  for (const std::string& uid : sop_instance_uids) {
    query.Bind(1, uid);
    if (query.Step()) states[uid] = StateFromName(query.Text(0));
    query.Reset();
  }
  return states;
}

QueueStatus SpoolQueue::Status() {
  constexpr int kParkedListed = 100;
  QueueStatus status;
  {
    std::lock_guard<std::mutex> lock(impl_->database.mutex());
    SqliteStatement counts(impl_->database, "SELECT state, COUNT(*), SUM(size_bytes) FROM items GROUP BY state");
    while (counts.Step()) {
      const ItemState state = StateFromName(counts.Text(0));
      const std::int64_t count = counts.Int(1);
      const std::int64_t bytes = counts.Int(2);
      switch (state) {
        case ItemState::kSpooled: status.spooled = count; break;
        case ItemState::kSending: status.sending = count; break;
        case ItemState::kSent: status.sent = count; break;
        case ItemState::kCommitted: status.committed = count; break;
        case ItemState::kParked: status.parked = count; break;
        case ItemState::kPurged: status.purged = count; break;
      }
      if (state == ItemState::kSpooled || state == ItemState::kSending) {
        status.unsent_bytes += bytes;
      }
      if (state != ItemState::kPurged) status.spool_bytes += bytes;
    }
    SqliteStatement times(impl_->database, "SELECT (SELECT MIN(received_at) FROM items WHERE state IN ('spooled', "
                    "'sending')), (SELECT MAX(sent_at) FROM items)");
    times.Step();
    status.oldest_unsent = times.Time(0);
    status.last_success = times.Time(1);
  }
  status.parked_items = InState(ItemState::kParked, kParkedListed);
  return status;
}

}  // namespace hokan::relay
