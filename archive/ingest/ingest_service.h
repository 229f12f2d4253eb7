#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "archive/index/instance_index.h"
#include "archive/ingest/group_committer.h"
#include "archive/ingest/instance_attributes.h"
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
};

// What happened to a StoreRequest. Each maps to one DIMSE status at the edge.
enum class IngestStatus {
  kStored,                   // new instance durable and indexed
  kAlreadyStored,            // identical content was stored before; nothing changed
  kInvalidDataSet,           // missing or malformed attribute: cannot understand
  kRequestMismatch,          // data set does not match the request's SOP class/instance
  kDuplicateDifferentContent,// SOP Instance UID stored with other content; kept the old
  kOutOfResources,           // disk or database trouble; retry later
};

struct IngestResult {
  IngestStatus status = IngestStatus::kOutOfResources;
  std::string message;  // why, for logs and the DIMSE error comment
};

// Validates a required-attribute set and the UIDs. Returns kStored when the
// request may proceed, otherwise the failure and its reason. Pure.
IngestResult ValidateStoreRequest(const StoreRequest& request);

// The C-STORE ingest path: validate → hash the file → give it its final
// name → flush and commit in a group (GroupCommitter) → answer. Only
// kStored/kAlreadyStored mean the data is durable: bytes and name flushed,
// row committed. Any other result leaves neither a row without its file nor
// a placed file without its row (an in-doubt commit leaves its intent
// record for the start-up sweep to settle), and the incoming file is always
// consumed. Thread-safe; never throws.
class IngestService {
 public:
  // All three must outlive the service.
  IngestService(FileStore& files, InstanceIndex& index, GroupCommitter& committer);

  // A store about to arrive: while it lives, a commit batch being formed
  // waits for it a little (see GroupCommitter::Expectation). Create one when
  // a C-STORE request arrives, before its data set is received.
  using StoreExpectation = GroupCommitter::Expectation;
  std::unique_ptr<StoreExpectation> ExpectStore();

  // `expectation`, if given, is the one ExpectStore() returned for this store.
  IngestResult Ingest(const StoreRequest& request, StoreExpectation* expectation = nullptr);

  // Start-up recovery, before any association is served: settles every
  // store a crash interrupted. A placed file is kept when its row exists
  // and its bytes match the row's checksum; otherwise the file (and a row
  // that does not match it) is removed — such a store was never
  // acknowledged. Returns the number of leftovers settled. Throws
  // hokan::Error (kStorage, kDatabase) when it cannot finish.
  int RecoverInterruptedStores();

 private:
  // Place() found the final name taken: decide by the stored checksum.
  IngestResult AnswerForTakenName(const StoreRequest& request, const std::string& relative_path,
                                  const FileFacts& facts);

  FileStore& files_;
  InstanceIndex& index_;
  GroupCommitter& committer_;
};

}  // namespace hokan::archive
