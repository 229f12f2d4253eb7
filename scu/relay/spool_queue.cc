#include "scu/relay/spool_queue.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <mutex>
#include <system_error>

#include "archive/common/error.h"

namespace hokan::relay {
namespace {

// Schema versions; each step runs once, in order, inside one transaction.
const char* const kMigrations[] = {
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

std::int64_t ToMicros(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

TimePoint FromMicros(std::int64_t micros) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::microseconds(micros)));
}

ItemState StateFromName(const std::string& name) {
  for (ItemState state : {ItemState::kSpooled, ItemState::kSending, ItemState::kSent,
                          ItemState::kCommitted, ItemState::kParked, ItemState::kPurged}) {
    if (name == ItemStateName(state)) return state;
  }
  throw Error(ErrorCode::kStorage, fmt::format("spool queue: unknown item state '{}'", name));
}

void ExecuteSql(sqlite3* db, const std::filesystem::path& file, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(ErrorCode::kStorage, fmt::format("spool queue {}: {}", file.string(), text));
  }
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
  sqlite3* db = nullptr;
  std::filesystem::path file;
  std::mutex mutex;

  [[noreturn]] void Fail(const std::string& what) const {
    throw Error(ErrorCode::kStorage, fmt::format("spool queue {}: {}: {}", file.string(), what,
                                                 db ? sqlite3_errmsg(db) : "not open"));
  }

  void Execute(const char* sql) { ExecuteSql(db, file, sql); }
};

namespace {

// One prepared statement; finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::filesystem::path& file) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK) {
      throw Error(ErrorCode::kStorage, fmt::format("spool queue {}: cannot prepare: {}",
                                                   file.string(), sqlite3_errmsg(db)));
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, const std::string& value) {
    Check(sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& Bind(int index, std::int64_t value) {
    Check(sqlite3_bind_int64(statement_, index, value));
    return *this;
  }
  Statement& BindNull(int index) {
    Check(sqlite3_bind_null(statement_, index));
    return *this;
  }
  Statement& Bind(int index, const std::optional<TimePoint>& value) {
    return value ? Bind(index, ToMicros(*value)) : BindNull(index);
  }

  // True while a row is available.
  bool Step() {
    const int result = sqlite3_step(statement_);
    if (result == SQLITE_ROW) return true;
    if (result == SQLITE_DONE) return false;
    throw Error(ErrorCode::kStorage,
                fmt::format("spool queue: statement failed: {}", sqlite3_errmsg(db_)));
  }
  void Reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  std::int64_t Int(int column) { return sqlite3_column_int64(statement_, column); }
  bool IsNull(int column) { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string Text(int column) {
    const auto* text = sqlite3_column_text(statement_, column);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
                : std::string();
  }
  std::optional<TimePoint> Time(int column) {
    if (IsNull(column)) return std::nullopt;
    return FromMicros(Int(column));
  }

 private:
  void Check(int result) {
    if (result != SQLITE_OK) {
      throw Error(ErrorCode::kStorage,
                  fmt::format("spool queue: cannot bind a value: {}", sqlite3_errmsg(db_)));
    }
  }

  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

// BEGIN IMMEDIATE … COMMIT; rolled back when not committed.
class Transaction {
 public:
  Transaction(sqlite3* db, const std::filesystem::path& file) : db_(db), file_(file) {
    ExecuteSql(db_, file_, "BEGIN IMMEDIATE");
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void Commit() {
    ExecuteSql(db_, file_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  const std::filesystem::path& file_;
  bool done_ = false;
};

SpoolItem ReadItem(Statement& row) {
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

SpoolQueue::SpoolQueue(const std::filesystem::path& database_file) : impl_(new Impl) {
  impl_->file = database_file;
  try {
    std::error_code error;
    std::filesystem::create_directories(database_file.parent_path(), error);
    if (error) {
      throw Error(ErrorCode::kStorage, fmt::format("spool queue {}: cannot create its folder: {}",
                                                   database_file.string(), error.message()));
    }
    if (sqlite3_open_v2(database_file.c_str(), &impl_->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      impl_->Fail("cannot open");
    }
    sqlite3_busy_timeout(impl_->db, 10000);
    impl_->Execute("PRAGMA journal_mode=WAL");
    impl_->Execute("PRAGMA synchronous=FULL");
    impl_->Execute("PRAGMA foreign_keys=ON");

    Transaction transaction(impl_->db, impl_->file);
    Statement version_query(impl_->db, "PRAGMA user_version", database_file);
    version_query.Step();
    const std::int64_t version = version_query.Int(0);
    const auto known = static_cast<std::int64_t>(std::size(kMigrations));
    if (version > known) {
      throw Error(ErrorCode::kStorage,
                  fmt::format("spool queue {}: schema version {} is newer than this hokan-forward "
                              "knows ({})",
                              database_file.string(), version, known));
    }
    for (std::int64_t step = version; step < known; ++step) impl_->Execute(kMigrations[step]);
    if (version < known) {
      // PRAGMA takes no parameters; the value is our own constant.
      impl_->Execute(fmt::format("PRAGMA user_version={}", known).c_str());
    }
    transaction.Commit();
  } catch (...) {
    if (impl_->db) sqlite3_close_v2(impl_->db);
    delete impl_;
    throw;
  }
}

SpoolQueue::~SpoolQueue() {
  sqlite3_close_v2(impl_->db);
  delete impl_;
}

std::int64_t SpoolQueue::Add(const SpoolItem& item) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Transaction transaction(impl_->db, impl_->file);
  Statement existing(impl_->db,
                     "SELECT id, sha256_hex, state, file FROM items WHERE sop_instance_uid = ?1 "
                     "AND state <> 'purged' ORDER BY id DESC",
                     impl_->file);
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
    Statement update(impl_->db,
                     "UPDATE items SET sop_class_uid = ?2, transfer_syntax_uid = ?3, "
                     "study_instance_uid = ?4, patient_id = ?5, modality = ?6, source = ?7, "
                     "file = ?8, size_bytes = ?9, sha256_hex = ?10, state = 'spooled', "
                     "received_at = ?11, attempts = 0, next_attempt_at = NULL, last_error = '' "
                     "WHERE id = ?1",
                     impl_->file);
    update.Bind(1, *replaceable).Bind(2, item.sop_class_uid).Bind(3, item.transfer_syntax_uid);
    update.Bind(4, item.study_instance_uid).Bind(5, item.patient_id).Bind(6, item.modality);
    update.Bind(7, item.source).Bind(8, item.file.string()).Bind(9, item.size_bytes);
    update.Bind(10, item.sha256_hex).Bind(11, ToMicros(item.received_at));
    update.Step();
    id = *replaceable;
  } else {
    Statement insert(impl_->db,
                     "INSERT INTO items (sop_instance_uid, sop_class_uid, transfer_syntax_uid, "
                     "study_instance_uid, patient_id, modality, source, file, size_bytes, "
                     "sha256_hex, state, received_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'spooled', ?11)",
                     impl_->file);
    insert.Bind(1, item.sop_instance_uid).Bind(2, item.sop_class_uid);
    insert.Bind(3, item.transfer_syntax_uid).Bind(4, item.study_instance_uid);
    insert.Bind(5, item.patient_id).Bind(6, item.modality).Bind(7, item.source);
    insert.Bind(8, item.file.string()).Bind(9, item.size_bytes).Bind(10, item.sha256_hex);
    insert.Bind(11, ToMicros(item.received_at));
    insert.Step();
    id = sqlite3_last_insert_rowid(impl_->db);
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
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement query(impl_->db,
                  fmt::format("SELECT {} FROM items WHERE state = 'spooled' AND "
                              "(next_attempt_at IS NULL OR next_attempt_at <= ?1) "
                              "ORDER BY received_at, id LIMIT ?2",
                              kColumns),
                  impl_->file);
  query.Bind(1, ToMicros(now)).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<SpoolItem> items;
  while (query.Step()) items.push_back(ReadItem(query));
  return items;
}

std::vector<std::string> SpoolQueue::QuietStudies(TimePoint quiet_since) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement query(impl_->db,
                  "SELECT study_instance_uid FROM items WHERE state <> 'purged' "
                  "GROUP BY study_instance_uid "
                  "HAVING SUM(state = 'spooled') > 0 AND MAX(received_at) < ?1 "
                  "ORDER BY MIN(received_at)",
                  impl_->file);
  query.Bind(1, ToMicros(quiet_since));
  std::vector<std::string> studies;
  while (query.Step()) studies.push_back(query.Text(0));
  return studies;
}

void SpoolQueue::MarkSending(const std::vector<std::int64_t>& ids) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Transaction transaction(impl_->db, impl_->file);
  Statement update(impl_->db,
                   "UPDATE items SET state = 'sending', attempts = attempts + 1 "
                   "WHERE id = ?1 AND state = 'spooled'",
                   impl_->file);
  for (std::int64_t id : ids) {
    update.Bind(1, id);
    update.Step();
    update.Reset();
  }
  transaction.Commit();
}

void SpoolQueue::MarkSent(std::int64_t id, const std::string& transaction_uid) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement update(impl_->db,
                   "UPDATE items SET state = 'sent', commitment_transaction_uid = ?2, "
                   "sent_at = ?3, last_error = '', next_attempt_at = NULL WHERE id = ?1",
                   impl_->file);
  update.Bind(1, id).Bind(2, transaction_uid).Bind(3, ToMicros(Now()));
  update.Step();
}

void SpoolQueue::MarkSent(const std::vector<std::int64_t>& ids,
                          const std::string& transaction_uid) {
  if (ids.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Transaction transaction(impl_->db, impl_->file);
  Statement update(impl_->db,
                   "UPDATE items SET state = 'sent', commitment_transaction_uid = ?2, "
                   "sent_at = ?3, last_error = '', next_attempt_at = NULL WHERE id = ?1",
                   impl_->file);
  const auto now = ToMicros(Now());
  for (std::int64_t id : ids) {
    update.Bind(1, id).Bind(2, transaction_uid).Bind(3, now);
    update.Step();
    update.Reset();
  }
  transaction.Commit();
}

void SpoolQueue::Retry(std::int64_t id, TimePoint next_attempt_at, const std::string& error) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement update(impl_->db,
                   "UPDATE items SET state = 'spooled', next_attempt_at = ?2, last_error = ?3 "
                   "WHERE id = ?1",
                   impl_->file);
  update.Bind(1, id).Bind(2, ToMicros(next_attempt_at)).Bind(3, error);
  update.Step();
}

void SpoolQueue::Park(std::int64_t id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement update(impl_->db,
                   "UPDATE items SET state = 'parked', last_error = ?2, next_attempt_at = NULL "
                   "WHERE id = ?1",
                   impl_->file);
  update.Bind(1, id).Bind(2, reason);
  update.Step();
}

void SpoolQueue::MarkCommitted(const std::string& transaction_uid,
                               const std::vector<std::string>& sop_instance_uids, TimePoint at) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Transaction transaction(impl_->db, impl_->file);
  Statement update(impl_->db,
                   "UPDATE items SET state = 'committed', committed_at = ?3 "
                   "WHERE commitment_transaction_uid = ?1 AND sop_instance_uid = ?2 "
                   "AND state = 'sent'",
                   impl_->file);
  for (const std::string& uid : sop_instance_uids) {
    update.Bind(1, transaction_uid).Bind(2, uid).Bind(3, ToMicros(at));
    update.Step();
    update.Reset();
  }
  transaction.Commit();
}

void SpoolQueue::MarkPurged(std::int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement update(impl_->db, "UPDATE items SET state = 'purged' WHERE id = ?1", impl_->file);
  update.Bind(1, id);
  update.Step();
}

int SpoolQueue::RecoverInterrupted() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement update(impl_->db, "UPDATE items SET state = 'spooled' WHERE state = 'sending'",
                   impl_->file);
  update.Step();
  return sqlite3_changes(impl_->db);
}

std::vector<SpoolItem> SpoolQueue::InState(ItemState state, int limit) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Statement query(impl_->db,
                  fmt::format("SELECT {} FROM items WHERE state = ?1 ORDER BY received_at, id "
                              "LIMIT ?2",
                              kColumns),
                  impl_->file);
  query.Bind(1, std::string(ItemStateName(state))).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<SpoolItem> items;
  while (query.Step()) items.push_back(ReadItem(query));
  return items;
}

QueueStatus SpoolQueue::Status() {
  constexpr int kParkedListed = 100;
  QueueStatus status;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    Statement counts(impl_->db,
                     "SELECT state, COUNT(*), SUM(size_bytes) FROM items GROUP BY state",
                     impl_->file);
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
    Statement times(impl_->db,
                    "SELECT (SELECT MIN(received_at) FROM items WHERE state IN ('spooled', "
                    "'sending')), (SELECT MAX(sent_at) FROM items)",
                    impl_->file);
    times.Step();
    status.oldest_unsent = times.Time(0);
    status.last_success = times.Time(1);
  }
  status.parked_items = InState(ItemState::kParked, kParkedListed);
  return status;
}

}  // namespace hokan::relay
