#include "archive/ingest/ingest_service.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/common/uid.h"

namespace hokan::archive {
namespace {

IngestResult Result(IngestStatus status, std::string message) {
  return IngestResult{status, std::move(message), 0};
}

constexpr std::uint16_t kOutOfResourcesStatus = 0xA700;

// "10.0 GiB": for refusal messages.
std::string Gibibytes(std::int64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

IngestResult DuplicateDifferentContent(const std::string& uid) {
  return Result(IngestStatus::kDuplicateDifferentContent,
                fmt::format("SOP Instance UID {} is already stored with different content; "
                            "the stored copy is kept", uid));
}

}  // namespace

IngestResult ValidateStoreRequest(const StoreRequest& request) {
  const InstanceAttributes& a = request.attributes;
  const struct {
    const char* name;
    const std::string& value;
  } uids[] = {
      {"SOPInstanceUID (0008,0018)", a.sop_instance_uid},
      {"SOPClassUID (0008,0016)", a.sop_class_uid},
      {"StudyInstanceUID (0020,000D)", a.study_instance_uid},
      {"SeriesInstanceUID (0020,000E)", a.series_instance_uid},
  };
  for (const auto& uid : uids) {
    if (uid.value.empty()) {
      return Result(IngestStatus::kInvalidDataSet, fmt::format("{} is missing", uid.name));
    }
    if (!IsValidUid(uid.value)) {
      // Never echo an unsafe value whole into logs: cap it.
      return Result(IngestStatus::kInvalidDataSet,
                    fmt::format("{} '{}' is not a valid UID", uid.name,
                                uid.value.substr(0, 80)));
    }
  }
  if (a.sop_instance_uid != request.requested_sop_instance_uid) {
    return Result(IngestStatus::kRequestMismatch,
                  fmt::format("data set SOPInstanceUID {} differs from the request's {}",
                              a.sop_instance_uid,
                              request.requested_sop_instance_uid.substr(0, 80)));
  }
  if (a.sop_class_uid != request.requested_sop_class_uid) {
    return Result(IngestStatus::kRequestMismatch,
                  fmt::format("data set SOPClassUID {} differs from the request's {}",
                              a.sop_class_uid, request.requested_sop_class_uid.substr(0, 80)));
  }
  if (a.transfer_syntax_uid.empty()) {
    return Result(IngestStatus::kInvalidDataSet, "transfer syntax is unknown");
  }
  return Result(IngestStatus::kStored, {});
}

IngestService::IngestService(FileStore& files, InstanceIndex& index, GroupCommitter& committer,
                             StorageConditionsIndex& conditions,
                             std::int64_t free_space_floor_bytes,
                             std::int64_t max_object_bytes)
    : files_(files),
      index_(index),
      committer_(committer),
      conditions_(conditions),
      free_space_floor_bytes_(free_space_floor_bytes),
      max_object_bytes_(max_object_bytes) {}

StoreAdmission IngestService::AdmitStore(const StoreRights& rights,
                                         const std::string& sop_class_uid) const {
  StoreAdmission admission;
  admission.refusal = CheckStoreRights(rights, sop_class_uid);
  if (admission.refusal.status == IngestStatus::kStored) {
    admission.max_object_bytes = static_cast<std::uint64_t>(max_object_bytes_);
  }
  return admission;
}

IngestResult IngestService::RefuseOversizedObject(const StoreAdmission& admission) const {
  if (admission.refusal.status != IngestStatus::kStored) return admission.refusal;
  return Result(IngestStatus::kOutOfResources,
                fmt::format("object over {} bytes (archive.max_object_bytes)",
                            admission.max_object_bytes));
}

std::unique_ptr<StorageGate> IngestService::OpenGate(std::int64_t facility_id) {
  return std::make_unique<StorageGate>(conditions_, facility_id, Now());
}

IngestResult IngestService::Refuse(const StoreRequest& request, IngestStatus status,
                                   std::uint16_t dimse_status, const std::string& reason) {
  try {
    files_.RemoveIncoming(request.incoming_file);
  } catch (const Error& error) {
    Log(LogLevel::kError, "{}", error.what());
  }
  try {
    conditions_.RecordRefusal(request.facility_id, request.calling_ae,
                              request.attributes.sop_instance_uid, dimse_status, reason);
  } catch (const Error& error) {
    Log(LogLevel::kError, "audit of a refused C-STORE: {}", error.what());
  }
  IngestResult result = Result(status, reason);
  if (status == IngestStatus::kRefused) result.refusal_status = dimse_status;
  return result;
}

bool IngestService::OverQuota(std::int64_t facility_id, std::int64_t quota, std::uint64_t size) {
  const auto now = std::chrono::steady_clock::now();
  std::int64_t used = 0;
  {
    std::lock_guard<std::mutex> lock(usage_mutex_);
    const auto found = usage_.find(facility_id);
    if (found != usage_.end() && now - found->second.read_at < std::chrono::seconds(1)) {
      used = found->second.used_bytes;
      return used + static_cast<std::int64_t>(size) > quota;
    }
  }
  used = conditions_.UsedBytes(facility_id);
  std::lock_guard<std::mutex> lock(usage_mutex_);
  usage_[facility_id] = Usage{used, now};
  return used + static_cast<std::int64_t>(size) > quota;
}

void IngestService::CountStored(std::int64_t facility_id, std::uint64_t size) {
  std::lock_guard<std::mutex> lock(usage_mutex_);
  const auto found = usage_.find(facility_id);
  if (found != usage_.end()) found->second.used_bytes += static_cast<std::int64_t>(size);
}

IngestResult IngestService::AnswerForTakenName(const StoreRequest& request,
                                               const std::string& relative_path,
                                               const FileFacts& facts) {
  const std::string& uid = request.attributes.sop_instance_uid;
  files_.RemoveIncoming(request.incoming_file);
  const auto stored = AwaitIndexedChecksum(request.facility_id, uid);
  if (!stored) {
    return Result(IngestStatus::kOutOfResources,
                  fmt::format("instance {}: its file name is taken but not indexed after {} s "
                              "(another store of it failed, or a crash leftover the start-up "
                              "sweep removes); retry later", uid,
                              std::chrono::duration_cast<std::chrono::seconds>(kInFlightWait)
                                  .count()));
  }
  if (*stored != facts.sha256_hex) return DuplicateDifferentContent(uid);
  // Same content by the index: confirm the stored bytes before saying so.
  if (files_.Checksum(relative_path).sha256_hex != *stored) {
    Log(LogLevel::kError, "instance {}: stored file {} does not match its checksum", uid,
        relative_path);
    return Result(IngestStatus::kOutOfResources,
                  fmt::format("instance {}: the stored copy failed verification; an "
                              "administrator must check it", uid));
  }
  return Result(IngestStatus::kAlreadyStored, {});
}

std::optional<std::string> IngestService::AwaitIndexedChecksum(std::int64_t facility_id,
                                                               const std::string& uid) {
  const auto deadline = std::chrono::steady_clock::now() + kInFlightWait;
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    if (auto stored = index_.FindChecksum(facility_id, uid)) return stored;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

int IngestService::RecoverInterruptedStores() {
  return files_.SweepIncoming([this](const std::string& relative_path, const FileFacts& facts) {
    const auto checksum = index_.ChecksumAt(relative_path);
    if (!checksum) {
      Log(LogLevel::kWarn, "recovery: removed {}: its store was interrupted before indexing",
          relative_path);
      return false;
    }
    if (*checksum == facts.sha256_hex) return true;
    Log(LogLevel::kError, "recovery: removed {} and its row: the file lost bytes in a crash "
        "before its store was acknowledged", relative_path);
    index_.RemoveInstanceAt(relative_path);
    return false;
  });
}

void IngestService::RememberInDoubt(const PlacedFile& placed, const FileFacts& facts) {
  try {
    std::lock_guard<std::mutex> lock(in_doubt_mutex_);
    in_doubt_[placed.relative_path] = InDoubtPlacement{placed, facts};
  } catch (const std::exception& error) {  // memory: the start-up sweep still settles it
    Log(LogLevel::kError, "instance file {}: commit outcome unknown, not remembered: {}",
        placed.relative_path, error.what());
  }
}

IngestService::Settlement IngestService::SettleInDoubt(const std::string& relative_path) {
  InDoubtPlacement entry;
  {
    std::lock_guard<std::mutex> lock(in_doubt_mutex_);
    const auto found = in_doubt_.find(relative_path);
    if (found == in_doubt_.end()) return Settlement::kNotInDoubt;
    entry = std::move(found->second);
    in_doubt_.erase(found);  // this thread settles it; others see the name taken
  }
  try {
    const std::optional<std::string> checksum = index_.ChecksumAt(relative_path);
    if (checksum == entry.facts.sha256_hex) {
      files_.SyncAll();  // the failed flush may have been the doubt
      files_.Release(entry.placed);
      Log(LogLevel::kInfo, "instance file {}: its commit outcome was unknown; the row exists: "
          "kept", relative_path);
      return Settlement::kKept;
    }
    files_.Discard(entry.placed);
    Log(LogLevel::kWarn, "instance file {}: its commit outcome was unknown; {}: removed, the "
        "instance can be stored again", relative_path,
        checksum ? "the row names other content" : "no row was committed");
    return Settlement::kRemoved;
  } catch (const std::exception& error) {
    Log(LogLevel::kWarn, "instance file {}: commit outcome still unknown: {}", relative_path,
        error.what());
    RememberInDoubt(entry.placed, entry.facts);
    return Settlement::kStillInDoubt;
  }
}

std::unique_ptr<IngestService::StoreExpectation> IngestService::ExpectStore() {
  return std::make_unique<StoreExpectation>(committer_);
}

std::optional<IngestResult> IngestService::CheckStorageConditions(const StoreRequest& request,
                                                                  StorageDecision* decision) {
  try {
    *decision = request.gate->Decide(request.calling_ae, request.attributes, Now());
    if (!decision->accept) {
      return Refuse(request, IngestStatus::kRefused, decision->status, decision->reason);
    }
    const std::uint64_t size = std::filesystem::file_size(request.incoming_file);
    const std::uint64_t available = files_.AvailableBytes();
    if (available < size ||
        available - size < static_cast<std::uint64_t>(free_space_floor_bytes_)) {
      return Refuse(request, IngestStatus::kOutOfResources, kOutOfResourcesStatus,
                    fmt::format("the storage root has {} free, under the floor of {}",
                                Gibibytes(static_cast<std::int64_t>(available)),
                                Gibibytes(free_space_floor_bytes_)));
    }
    const StorageContract& contract = *request.gate->contract();
    if (OverQuota(request.facility_id, contract.quota_bytes, size)) {
      if (contract.over_quota == "refuse") {
        return Refuse(request, IngestStatus::kOverQuota, kOutOfResourcesStatus,
                      fmt::format("the facility's quota of {} is used up (contract {})",
                                  Gibibytes(contract.quota_bytes), contract.id));
      }
      if (recycle_needed_) recycle_needed_();
    }
  } catch (const std::exception& error) {
    return Refuse(request, IngestStatus::kOutOfResources, kOutOfResourcesStatus,
                  fmt::format("storage conditions cannot be checked: {}", error.what()));
  }
  return std::nullopt;
}

IngestResult IngestService::PlaceAndCommit(const StoreRequest& request,
                                           const StorageDecision& decision,
                                           StoreExpectation* expectation) {
  const std::string& uid = request.attributes.sop_instance_uid;
  PlacedFile placed;
  bool is_placed = false;
  FileFacts facts;
  try {
    facts = files_.Hash(request.incoming_file);
    const std::string relative_path =
        InstanceRelativePath(request.facility_id, request.attributes.study_instance_uid,
                             request.attributes.series_instance_uid, uid);
    is_placed = files_.Place(request.incoming_file, relative_path, &placed);
    // The name may be held by an earlier store of it whose commit outcome
    // was unknown: settled now, it is free again or indexed.
    if (!is_placed && SettleInDoubt(relative_path) == Settlement::kRemoved) {
      is_placed = files_.Place(request.incoming_file, relative_path, &placed);
    }
    if (!is_placed) return AnswerForTakenName(request, relative_path, facts);

    NewInstanceRow row;
    row.facility_id = request.facility_id;
    row.calling_ae = request.calling_ae;
    row.attributes = request.attributes;
    row.relative_path = relative_path;
    row.size_bytes = facts.size_bytes;
    row.sha256_hex = facts.sha256_hex;
    row.expires_at = decision.expires_at;
    row.storage_rule_id = decision.rule_id;
    row.tier = decision.tier;
    const IndexOutcome outcome = committer_.Commit(row, expectation);

    switch (outcome) {
      case IndexOutcome::kInserted:
        files_.Release(placed);
        CountStored(request.facility_id, facts.size_bytes);
        return Result(IngestStatus::kStored, {});
      case IndexOutcome::kExistsSameContent:
        // The row existed but its file had gone: the placed file restores
        // it, unless expiry has set that file aside to delete the row (or
        // has deleted it since): the placed file would be left without a row.
        if (index_.StateOfRestoredCopy(relative_path) != InstanceIndex::RestoredCopy::kKept) {
          files_.Discard(placed);
          return Result(IngestStatus::kOutOfResources,
                        fmt::format("instance {}: expiry is deleting it; store it again when "
                                    "the deletion is done", uid));
        }
        files_.Release(placed);
        return Result(IngestStatus::kAlreadyStored, {});
      case IndexOutcome::kExistsDifferentContent:
        files_.Discard(placed);
        return DuplicateDifferentContent(uid);
    }
    throw Error(ErrorCode::kInternal, "unknown index outcome");
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kCommitInDoubt) {
      // The row may exist, or the file may not be durable: keep the file and
      // its intent record until the index answers (SettleInDoubt) or the
      // start-up sweep settles it.
      if (is_placed) RememberInDoubt(placed, facts);
      return Result(IngestStatus::kOutOfResources, error.what());
    }
    try {
      if (is_placed) files_.Discard(placed);
      else files_.RemoveIncoming(request.incoming_file);
    } catch (const Error& cleanup_error) {
      Log(LogLevel::kError, "instance {}: cleanup after failure: {}", uid, cleanup_error.what());
    }
    return Result(error.code() == ErrorCode::kInvalidInput ? IngestStatus::kInvalidDataSet
                                                           : IngestStatus::kOutOfResources,
                  error.what());
  }
}

IngestResult IngestService::Ingest(const StoreRequest& request, StoreExpectation* expectation) {
  IngestResult validation = ValidateStoreRequest(request);
  if (validation.status != IngestStatus::kStored) {
    try {
      files_.RemoveIncoming(request.incoming_file);
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
    }
    return validation;
  }
  // The storage conditions, before anything is placed.
  StorageDecision decision;
  if (auto refusal = CheckStorageConditions(request, &decision)) return *refusal;
  return PlaceAndCommit(request, decision, expectation);
}

}  // namespace hokan::archive
