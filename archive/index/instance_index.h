#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "archive/config/config.h"
#include "archive/index/database.h"
#include "archive/ingest/instance_attributes.h"

namespace hokan::archive {

// A calling AE title that may store, and whether its peer address is allowed.
struct StoreCaller {
  std::int64_t facility_id = 0;
  std::string facility_name;
  bool peer_allowed = false;
};

// One instance to add to the index; its file is already placed.
struct NewInstanceRow {
  std::int64_t facility_id = 0;
  std::string calling_ae;
  InstanceAttributes attributes;
  std::string relative_path;
  std::uint64_t size_bytes = 0;
  std::string sha256_hex;
};

enum class IndexOutcome {
  kInserted,                // a new row refers to the placed file
  kExistsSameContent,       // the SOP Instance UID is stored with this checksum
  kExistsDifferentContent,  // the SOP Instance UID is stored with another checksum
};

// The index of patients, studies, series and instances in PostgreSQL, and
// the application entities that may talk to the archive. Thread-safe.
//
// Inserts are group-committed: concurrent Insert() calls from many
// associations share one transaction (and one WAL flush) per batch. A batch
// that fails is retried one row per transaction, so one bad row never fails
// its neighbours.
class InstanceIndex {
 public:
  // Starts the commit thread. `database` must outlive the index.
  explicit InstanceIndex(Database& database);
  ~InstanceIndex();  // finishes queued inserts, then stops
  InstanceIndex(const InstanceIndex&) = delete;
  InstanceIndex& operator=(const InstanceIndex&) = delete;

  // Registers the statements this class uses on a new connection.
  static void PrepareStatements(pqxx::connection& connection);

  // Makes the facilities and their store AE titles of the configuration
  // present and enabled in the database; configuration-made AEs no longer in
  // the configuration are disabled. Throws hokan::Error(kDatabase).
  void SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities);

  // The enabled AE `ae_title` that may store, with `peer_address` checked
  // against its allowed networks; nullopt for an unknown AE title.
  // Throws hokan::Error(kDatabase).
  std::optional<StoreCaller> FindStoreCaller(const std::string& ae_title,
                                             const std::string& peer_address);

  // Adds the row and blocks until it is committed (or found to exist).
  // Throws hokan::Error(kDatabase) when the row could not be committed.
  IndexOutcome Insert(const NewInstanceRow& row);

  // The stored checksum of a facility's SOP Instance UID; nullopt if none.
  // Throws hokan::Error(kDatabase).
  std::optional<std::string> FindChecksum(std::int64_t facility_id,
                                          const std::string& sop_instance_uid);

  // True when an instance row refers to `relative_path`.
  bool IsIndexed(const std::string& relative_path);

 private:
  struct PendingInsert {
    const NewInstanceRow* row;
    std::promise<IndexOutcome> result;
  };

  void CommitLoop();
  void CommitBatch(std::vector<PendingInsert>& batch);

  Database& database_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<PendingInsert> queue_;
  bool stopping_ = false;
  std::thread committer_;
};

}  // namespace hokan::archive
