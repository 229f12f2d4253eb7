#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "archive/index/instance_index.h"
#include "archive/ingest/group_committer.h"
#include "archive/model/instance_attributes.h"
#include "archive/ingest/storage_gate.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// One received object: the file the SCP wrote (bit-preserving) under the
// store's incoming folder, and what the C-STORE request and header say.
struct StoreRequest {
  std::int64_t facility_id = 0;
  std::string calling_ae;
  std::string requested_sop_class_uid;     // from the C-STORE request
  std::string requested_sop_instance_uid;  // from the C-STORE request
  std::filesystem::path incoming_file;
  InstanceAttributes attributes;           // from the file's header
  // The association's storage conditions (IngestService::OpenGate).
  // REQUIRES for Ingest: not null.
  StorageGate* gate = nullptr;
};

// What happened to a StoreRequest. Each maps to one DIMSE status at the edge.
enum class IngestStatus {
  kStored,                   // new instance durable and indexed
  kAlreadyStored,            // identical content was stored before; nothing changed
  kInvalidDataSet,           // missing or malformed attribute: cannot understand
  kRequestMismatch,          // data set does not match the request's SOP class/instance
  kDuplicateDifferentContent,// SOP Instance UID stored with other content; kept the old
  kOutOfResources,           // disk or database trouble, or the free-space floor; retry later
  kOverQuota,                // the facility's quota is used up and its contract refuses more
  kRefused,                  // the contract or a storage rule refuses it (refusal_status)
  kNotAuthorized,            // the caller may not store this (CheckStoreRights)
};

struct IngestResult {
  IngestStatus status = IngestStatus::kOutOfResources;
  std::string message;  // why, for logs and the DIMSE error comment
  std::uint16_t refusal_status = 0;  // kRefused: the status the contract or rule gives
};

// Whether `rights` let the caller store an instance of `sop_class_uid`:
// kStored when they do, else kNotAuthorized with the reason (an AE title
// that may only query and retrieve; a purpose without the right to store
// reports, for a report class). Pure; nothing is removed or audited.
IngestResult CheckStoreRights(const StoreRights& rights, const std::string& sop_class_uid);

// Whether a caller may send an object, and how many bytes of it may be
// received: what the core tells every edge (DIMSE C-STORE, HTTP STOW-RS)
// before the object's bytes arrive (IngestService::AdmitStore).
struct StoreAdmission {
  IngestResult refusal;                // kStored: admitted; else why not
  std::uint64_t max_object_bytes = 0;  // 0 when refused: keep no byte of it
};

// Validates a required-attribute set and the UIDs. Returns kStored when the
// request may proceed, otherwise the failure and its reason. Pure.
IngestResult ValidateStoreRequest(const StoreRequest& request);

// The C-STORE ingest path: validate → hash the file → give it its final
// name → flush and commit in a group (GroupCommitter) → answer. Only
// kStored/kAlreadyStored mean the data is durable: bytes and name flushed,
// row committed. Any other result leaves neither a row without its file nor
// a placed file without its row, and the incoming file is always consumed.
// A commit whose outcome is unknown (kCommitInDoubt: the connection broke
// during COMMIT) keeps its placed file and intent
// record; the service remembers it and settles it once the index answers,
// when the same name is stored again (the file kept, flushed, when its row
// exists with its checksum; else removed and the new store placed), or at
// the next start-up sweep. Thread-safe; never throws.
class IngestService {
 public:
  // Everything given must outlive the service. C-STOREs are refused
  // (kOutOfResources) while the storage root has less than
  // `free_space_floor_bytes` available after the new file; an object over
  // `max_object_bytes` (archive.max_object_bytes) is refused whole.
  IngestService(FileStore& files, InstanceIndex& index, GroupCommitter& committer,
                StorageConditionsIndex& conditions, std::int64_t free_space_floor_bytes,
                std::int64_t max_object_bytes);

  // Asked when a store request arrives, before its object is received: a
  // caller whose `rights` do not let it store `sop_class_uid`
  // (CheckStoreRights) is refused and may send no byte; an admitted one
  // may send up to max_object_bytes. Pure.
  StoreAdmission AdmitStore(const StoreRights& rights, const std::string& sop_class_uid) const;

  // The answer to an object that went over its admission's
  // max_object_bytes (the edge has discarded what arrived): the
  // admission's refusal, or kOutOfResources naming the limit.
  IngestResult RefuseOversizedObject(const StoreAdmission& admission) const;

  // The storage conditions of `facility_id` now, for one association's
  // StoreRequests. Throws hokan::Error(kDatabase).
  std::unique_ptr<StorageGate> OpenGate(std::int64_t facility_id);

  // Called (from an ingest thread) when a facility whose contract recycles
  // goes over its quota, e.g. to wake the expiry worker. Set before serving.
  void OnRecycleNeeded(std::function<void()> callback) { recycle_needed_ = std::move(callback); }

  // A store about to arrive: while it lives, a commit batch being formed
  // waits for it a little (see GroupCommitter::Expectation). Create one when
  // a C-STORE request arrives, before its data set is received.
  using StoreExpectation = GroupCommitter::Expectation;
  std::unique_ptr<StoreExpectation> ExpectStore();

  // REQUIRES: the request was admitted (AdmitStore) and its object is
  // within the admission's max_object_bytes.
  // `expectation`, if given, is the one ExpectStore() returned for this store.
  // Before anything is placed, the gate decides (no current contract, what
  // the contract keeps, the first matching rule: kRefused with its status)
  // and the free-space floor and the quota are checked (kOutOfResources
  // for the free-space floor, kOverQuota when the contract refuses over
  // quota; over a recycling contract's quota
  // the store proceeds and OnRecycleNeeded's callback runs). Every refusal
  // is logged and audited ("ingest.refuse"). A stored instance carries the
  // decision's expiry, rule and tier.
  IngestResult Ingest(const StoreRequest& request, StoreExpectation* expectation = nullptr);

  // Start-up recovery, before any association is served: settles every
  // store a crash interrupted. A placed file is kept when its row exists
  // and its bytes match the row's checksum; otherwise the file (and a row
  // that does not match it) is removed — such a store was never
  // acknowledged. Returns the number of leftovers settled. Throws
  // hokan::Error (kStorage, kDatabase) when it cannot finish.
  int RecoverInterruptedStores();

 private:
  // The gate's decision, the free-space floor and the quota, in that order:
  // a refusal (incoming file removed, audited), or nullopt with `decision`
  // set when the instance may be placed.
  std::optional<IngestResult> CheckStorageConditions(const StoreRequest& request,
                                                     StorageDecision* decision);
  // Hash, place under the final name, commit the row in a group; settles
  // the placed file by the index outcome (see Ingest).
  IngestResult PlaceAndCommit(const StoreRequest& request, const StorageDecision& decision,
                              StoreExpectation* expectation);
  // How long a store waits for another store of the same instance (another
  // association or node placed its name first) to commit its row.
  static constexpr std::chrono::seconds kInFlightWait{10};
  // The instance's indexed checksum, waiting up to kInFlightWait for a
  // store in progress to commit it; nullopt if none appears.
  std::optional<std::string> AwaitIndexedChecksum(std::int64_t facility_id,
                                                  const std::string& uid);
  // Place() found the final name taken: wait for the store in progress, if
  // any, then decide by the stored checksum (answering as the first did).
  IngestResult AnswerForTakenName(const StoreRequest& request, const std::string& relative_path,
                                  const FileFacts& facts);

  // A placement whose commit outcome is unknown, until settled.
  struct InDoubtPlacement {
    PlacedFile placed;
    FileFacts facts;
  };
  enum class Settlement { kNotInDoubt, kKept, kRemoved, kStillInDoubt };
  void RememberInDoubt(const PlacedFile& placed, const FileFacts& facts);
  // Settles the in-doubt placement of `relative_path`, if this service has
  // one, by asking the index (see the class comment). Never throws.
  Settlement SettleInDoubt(const std::string& relative_path);

  // A refusal: the incoming file removed, the audit row written.
  IngestResult Refuse(const StoreRequest& request, IngestStatus status, std::uint16_t dimse_status,
                      const std::string& reason);
  // Whether `size` more bytes would take the facility over `quota`, by its
  // usage read at most once a second plus what this node stored since.
  bool OverQuota(std::int64_t facility_id, std::int64_t quota, std::uint64_t size);
  void CountStored(std::int64_t facility_id, std::uint64_t size);

  FileStore& files_;
  InstanceIndex& index_;
  GroupCommitter& committer_;
  StorageConditionsIndex& conditions_;
  std::int64_t free_space_floor_bytes_;
  std::int64_t max_object_bytes_;
  std::function<void()> recycle_needed_;
  struct Usage {
    std::int64_t used_bytes = 0;
    std::chrono::steady_clock::time_point read_at;
  };
  std::mutex usage_mutex_;
  std::unordered_map<std::int64_t, Usage> usage_;
  std::mutex in_doubt_mutex_;
  std::unordered_map<std::string, InDoubtPlacement> in_doubt_;  // by relative path
};

}  // namespace hokan::archive
