#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "archive/common/clock.h"
#include "archive/config/config.h"
#include "archive/index/database.h"
#include "archive/model/instance_attributes.h"

namespace hokan::archive {

// A calling AE title as one facility knows it (an AE title may be a caller
// of several facilities): the facility, whether it may store, and whether
// the peer address is inside the facility's allowed networks.
struct Caller {
  std::int64_t facility_id = 0;
  std::string facility_name;
  bool may_store = false;
  bool peer_allowed = false;
};

// Where a C-MOVE may send: a destination AE of the caller's facility.
struct MoveDestination {
  std::string ae_title;
  std::string host;
  int port = 0;
};

// One instance to add to the index; its file is already placed.
struct NewInstanceRow {
  std::int64_t facility_id = 0;
  std::string calling_ae;
  InstanceAttributes attributes;
  std::string relative_path;
  std::uint64_t size_bytes = 0;
  std::string sha256_hex;
  // What the storage rules decided (archive/rules/storage_decision.h).
  std::optional<TimePoint> expires_at;  // nullopt: kept forever
  std::optional<std::int64_t> storage_rule_id;
  std::string tier = "hot";
};

enum class IndexOutcome {
  kInserted,                // a new row refers to the placed file
  kExistsSameContent,       // the SOP Instance UID is stored with this checksum
  kExistsDifferentContent,  // the SOP Instance UID is stored with another checksum
};

// The index of patients, studies, series and instances in PostgreSQL, and
// the application entities that may talk to the archive. Thread-safe.
//
// It remembers (bounded) the series it has written with the patient, study
// and series values it wrote; an instance of such a series with the same
// values is added with a single small insert. Patient/study/series values
// therefore follow the last *change* seen by this node.
class InstanceIndex {
 public:
  // `database` must outlive the index.
  explicit InstanceIndex(Database& database);

  // Makes the facilities and their store and query AE titles of the
  // configuration present and enabled in the database (store AEs as
  // 'modality' with may_store, query AEs as 'viewer' without, each with the
  // facility's allowed networks and its report destination's address if
  // any), and each facility's move destinations as its own 'destination'
  // rows: one AE title may be a caller or a destination of several
  // facilities, and listing it under one never changes another's rows.
  // Configuration-made rows no longer in the configuration are disabled.
  // A facility with provision_contract and no contract at all gets the
  // provisional contract (see FacilityConfig), with an audit row.
  // Throws hokan::Error(kDatabase).
  void SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities);

  // Every enabled caller row (role modality, relay or viewer; never a
  // destination) of `ae_title`, one per facility that knows it, each with
  // `peer_address` checked against that facility's allowed networks; empty
  // for an AE title no facility admits as a caller. Which one an
  // association is, is decided by scp::ChooseCaller.
  // Throws hokan::Error(kDatabase).
  std::vector<Caller> FindCallers(const std::string& ae_title, const std::string& peer_address);

  // Adds the rows in one transaction and commits it; outcome i belongs to
  // rows[i]. Patient, study and series rows are created or updated (last
  // write wins) only for rows whose SOP Instance UID is new. Row locks are
  // taken in one fixed order (new rows by patient, study, series, SOP
  // Instance UID; then instances by SOP Instance UID; last the counters'
  // studies and series by id), so concurrent
  // batches of one study queue rather than deadlock, and a conflict
  // PostgreSQL still reports runs the transaction again. Throws
  // hokan::Error when the transaction fails (then nothing of it is
  // committed): kInvalidInput for a value PostgreSQL refuses, kCommitInDoubt
  // when the connection broke during COMMIT, kDatabase otherwise.
  std::vector<IndexOutcome> InsertBatch(const std::vector<const NewInstanceRow*>& rows);

  // The enabled move destination `ae_title` of `facility_id` (host and port
  // known; its 'destination' row before a caller row with an address);
  // nullopt when the facility has no such destination. Another facility's
  // destination of the same AE title is never returned.
  // Throws hokan::Error(kDatabase).
  std::optional<MoveDestination> FindMoveDestination(const std::string& ae_title,
                                                     std::int64_t facility_id);

  // The stored checksum of a facility's SOP Instance UID; nullopt if none.
  // Throws hokan::Error(kDatabase).
  std::optional<std::string> FindChecksum(std::int64_t facility_id,
                                          const std::string& sop_instance_uid);

  // The checksum of the instance row that refers to `relative_path`;
  // nullopt if none does. Throws hokan::Error(kDatabase).
  std::optional<std::string> ChecksumAt(const std::string& relative_path);

  // Whether a file just placed at `relative_path` may stay although its row
  // already existed (IndexOutcome::kExistsSameContent: the row's file had
  // gone): kKept when the row exists and no expiry deletion is deleting it;
  // kBeingDeleted when a pending expiry deletion lists it (its file is in
  // quarantine and its row about to go); kGone when the row has gone since.
  // Defined in restored_copy.cc. Throws hokan::Error(kDatabase).
  enum class RestoredCopy { kKept, kBeingDeleted, kGone };
  RestoredCopy StateOfRestoredCopy(const std::string& relative_path);

  // Removes the instance row that refers to `relative_path`, if any (its
  // file failed verification), and what it counted in its series, study
  // and facility usage. Throws hokan::Error(kDatabase).
  void RemoveInstanceAt(const std::string& relative_path);

  // Adds the facility usage deltas recorded by ingest and expiry into the
  // folded totals (schema 013); facility_usage reads the same before and
  // after. Returns how many deltas it folded (0 when another node is
  // folding). Throws hokan::Error(kDatabase).
  std::int64_t FoldUsageDeltas();

 private:
  // A series this node has written, with the values it wrote.
  struct KnownSeries {
    std::int64_t series_id;
    std::string values;  // patient, study and series attributes, joined
  };

  // The known series of `row` (this batch's `learned` first, then the
  // node's memory) when its patient, study and series values are those
  // written; nullopt otherwise.
  std::optional<std::int64_t> KnownSeriesOf(
      const NewInstanceRow& row, const std::unordered_map<std::string, KnownSeries>& learned);
  void ForgetSeries(const NewInstanceRow& row);
  // Per row, its series remembered by this node with the row's values
  // (nullopt: not remembered, or with other values).
  std::vector<std::optional<std::int64_t>> RememberedSeries(
      const std::vector<const NewInstanceRow*>& rows);
  // The outcomes of a written batch; rows without one (their series gone)
  // are written again, in full, by another batch.
  std::vector<IndexOutcome> CompleteOutcomes(
      const std::vector<const NewInstanceRow*>& rows,
      const std::vector<std::optional<IndexOutcome>>& written);

  // One batch's transaction (instance_batch.cc).
  struct BatchInserter;

  Database& database_;
  std::mutex known_series_mutex_;
  std::unordered_map<std::string, KnownSeries> known_series_;
};

}  // namespace hokan::archive
