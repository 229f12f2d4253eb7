#include "archive/ingest/ingest_service.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/storage/uid.h"

namespace hokan::archive {
namespace {

IngestResult Result(IngestStatus status, std::string message) {
  return IngestResult{status, std::move(message)};
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

IngestService::IngestService(FileStore& files, InstanceIndex& index, GroupCommitter& committer)
    : files_(files), index_(index), committer_(committer) {}

IngestResult IngestService::AnswerForTakenName(const StoreRequest& request,
                                               const std::string& relative_path,
                                               const FileFacts& facts) {
  const std::string& uid = request.attributes.sop_instance_uid;
  files_.RemoveIncoming(request.incoming_file);
  const auto stored = index_.FindChecksum(request.facility_id, uid);
  if (!stored) {
    return Result(IngestStatus::kOutOfResources,
                  fmt::format("instance {}: its file name is taken but not indexed (another "
                              "store of it is in progress, or a crash leftover the start-up "
                              "sweep removes); retry later", uid));
  }
  if (*stored != facts.sha256_hex) return DuplicateDifferentContent(uid);
  // Same content by the index: confirm the stored bytes before saying so.
  if (files_.Hash(files_.PathOf(relative_path)).sha256_hex != *stored) {
    Log(LogLevel::kError, "instance {}: stored file {} does not match its checksum", uid,
        relative_path);
    return Result(IngestStatus::kOutOfResources,
                  fmt::format("instance {}: the stored copy failed verification; an "
                              "administrator must check it", uid));
  }
  return Result(IngestStatus::kAlreadyStored, {});
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

std::unique_ptr<IngestService::StoreExpectation> IngestService::ExpectStore() {
  return std::make_unique<StoreExpectation>(committer_);
}

IngestResult IngestService::Ingest(const StoreRequest& request, StoreExpectation* expectation) {
  const std::string& uid = request.attributes.sop_instance_uid;
  IngestResult validation = ValidateStoreRequest(request);
  if (validation.status != IngestStatus::kStored) {
    try {
      files_.RemoveIncoming(request.incoming_file);
    } catch (const Error& error) {
      Log(LogLevel::kError, "{}", error.what());
    }
    return validation;
  }

  PlacedFile placed;
  bool is_placed = false;
  try {
    const FileFacts facts = files_.Hash(request.incoming_file);
    const std::string relative_path =
        InstanceRelativePath(request.facility_id, request.attributes.study_instance_uid,
                             request.attributes.series_instance_uid, uid);
    is_placed = files_.Place(request.incoming_file, relative_path, &placed);
    if (!is_placed) return AnswerForTakenName(request, relative_path, facts);

    NewInstanceRow row;
    row.facility_id = request.facility_id;
    row.calling_ae = request.calling_ae;
    row.attributes = request.attributes;
    row.relative_path = relative_path;
    row.size_bytes = facts.size_bytes;
    row.sha256_hex = facts.sha256_hex;
    const IndexOutcome outcome = committer_.Commit(row, expectation);

    switch (outcome) {
      case IndexOutcome::kInserted:
        files_.Release(placed);
        return Result(IngestStatus::kStored, {});
      case IndexOutcome::kExistsSameContent:
        // The row existed but its file had gone: the placed file restores it.
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
      // its intent record for RecoverInterruptedStores to settle.
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

}  // namespace hokan::archive
