#include "archive/commitment/commitment_service.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

// How long after its ingest a stored file is committed on its presence and
// size, trusting the SHA-256 ingest recorded instead of reading the file
// again (for a relay's batch that is ~0.3 ms of CPU per 0.5 MB instance,
// taken from ingest on a busy node). Why that keeps the promise that a
// committed file is durable and matches its checksum:
// - ingest hashed exactly the bytes it then fsynced, under a name that is
//   written once (FileStore::Place never replaces a file), before it
//   committed the row with that checksum and size;
// - a file written minutes ago is still in the page cache, so hashing it
//   again reads those same cached bytes: it could not see a media error.
// What a re-hash would still catch and this does not is another program
// overwriting the file in place with as many bytes within the window.
// Older files (evicted, restored, moved between tiers) are hashed again, and
// so is every file of a store that has no local path.
constexpr std::chrono::minutes kIngestChecksumTrustedFor{10};

}  // namespace

CommitmentService::CommitmentService(Database& database, FileStore& files, std::string node,
                                     std::chrono::seconds same_association_window)
    : index_(database), files_(files), node_(std::move(node)),
      same_association_window_(same_association_window) {}

CommitmentAcceptance CommitmentService::Accept(const NewCommitmentRequest& request) {
  CommitmentAcceptance acceptance;
  if (!index_.FindReportAddress(request.facility_id, request.requester_ae)) {
    acceptance.refused = CommitmentRefusal{fmt::format(
        "no address known for AE {}: add {}@host:port to report_destinations",
        request.requester_ae, request.requester_ae)};
    return acceptance;
  }
  acceptance.accepted =
      index_.AddRequest(request, node_, Now() + same_association_window_);
  return acceptance;
}

CommitmentReport CommitmentService::Check(std::int64_t request_id) {
  const auto request = index_.FindRequest(request_id);
  if (!request) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("commitment request {} does not exist", request_id));
  }
  std::vector<std::string> uids;
  uids.reserve(request->items.size());
  for (const auto& item : request->items) uids.push_back(item.sop_instance_uid);
  const std::vector<IndexedCopy> copies = index_.FindInstances(request->facility_id, uids);
  std::unordered_map<std::string, const IndexedCopy*> by_uid;
  for (const auto& copy : copies) by_uid.emplace(copy.sop_instance_uid, &copy);

  const TimePoint now = Now();
  CommitmentReport report;
  report.request_id = request_id;
  report.facility_id = request->facility_id;
  report.transaction_uid = request->transaction_uid;
  report.requester_ae = request->requester_ae;
  for (const auto& item : request->items) {
    const auto found = by_uid.find(item.sop_instance_uid);
    report.outcomes.push_back(
        CheckOne(item, found == by_uid.end() ? nullptr : found->second, now));
  }
  return report;
}

CommitmentOutcome CommitmentService::CheckOne(const CommitmentItem& item,
                                              const IndexedCopy* copy, TimePoint now) {
  CommitmentOutcome outcome{item, std::nullopt, {}};
  if (!copy) {
    outcome.failure = CommitmentFailure::kNoSuchObjectInstance;
    outcome.detail = "not stored for this facility";
    return outcome;
  }
  if (copy->sop_class_uid != item.sop_class_uid) {
    outcome.failure = CommitmentFailure::kClassInstanceConflict;
    outcome.detail = fmt::format("stored as SOP class {}", copy->sop_class_uid);
    return outcome;
  }
  const auto age = now - copy->received_at;
  if (age >= TimePoint::duration::zero() && age <= kIngestChecksumTrustedFor) {
    if (const auto path = files_.LocalPath(copy->relative_path)) {
      if (auto problem = SizeProblem(*path, copy->size_bytes)) {
        outcome.failure = CommitmentFailure::kProcessingFailure;
        outcome.detail = fmt::format("file {} {}", copy->relative_path, *problem);
      }
      return outcome;
    }
  }
  try {
    const FileFacts facts = files_.Checksum(copy->relative_path);
    if (facts.sha256_hex != copy->checksum_sha256) {
      outcome.failure = CommitmentFailure::kProcessingFailure;
      outcome.detail = fmt::format("file {} does not match its checksum", copy->relative_path);
    }
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kStorage) throw;
    outcome.failure = CommitmentFailure::kProcessingFailure;
    outcome.detail = error.what();
  }
  return outcome;
}

std::optional<std::string> CommitmentService::SizeProblem(const std::filesystem::path& file,
                                                         std::int64_t size_bytes) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (error) return fmt::format("cannot be read: {}", error.message());
  if (static_cast<std::int64_t>(size) != size_bytes) {
    return fmt::format("has {} bytes, {} at ingest", size, size_bytes);
  }
  return std::nullopt;
}

std::optional<std::string> CommitmentService::StateOf(std::int64_t request_id) {
  const auto request = index_.FindRequest(request_id);
  if (!request) return std::nullopt;
  return request->state;
}

std::optional<ReportAddress> CommitmentService::AddressOf(const CommitmentReport& report) {
  return index_.FindReportAddress(report.facility_id, report.requester_ae);
}

namespace {

std::vector<ReportedItem> ReportedItems(const CommitmentReport& report) {
  std::vector<ReportedItem> items;
  items.reserve(report.outcomes.size());
  for (std::size_t i = 0; i < report.outcomes.size(); ++i) {
    const auto& failure = report.outcomes[i].failure;
    items.push_back({static_cast<int>(i),
                     failure ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(*failure))
                             : std::nullopt});
  }
  return items;
}

}  // namespace

void CommitmentService::RecordSameAssociation(const CommitmentReport& report,
                                              std::int64_t job_id) {
  index_.RecordReported(report.request_id, ReportedItems(report), "same", "", job_id, node_);
}

void CommitmentService::HandOver(std::int64_t job_id) { index_.RunJobNow(job_id); }

void CommitmentService::RecordNewAssociation(const CommitmentReport& report,
                                             const ReportAddress& address) {
  index_.RecordReported(report.request_id, ReportedItems(report), "new",
                        fmt::format("{}@{}:{}", address.ae_title, address.host, address.port),
                        std::nullopt, node_);
}

void CommitmentService::RecordFailedAttempt(std::int64_t request_id, const std::string& error,
                                            bool gave_up) {
  index_.RecordAttempt(request_id, error, gave_up);
}

std::int64_t CommitmentService::RequestIdOf(const Job& job) {
  // The payload is written by CommitmentIndex::AddRequest: {"request_id": N}.
  const std::string key = "\"request_id\"";
  const auto at = job.payload.find(key);
  std::size_t position = at == std::string::npos ? at : job.payload.find(':', at + key.size());
  if (position != std::string::npos) {
    ++position;
    while (position < job.payload.size() && job.payload[position] == ' ') ++position;
    std::size_t end = position;
    while (end < job.payload.size() && std::isdigit(static_cast<unsigned char>(job.payload[end]))) {
      ++end;
    }
    if (end > position && end - position <= 18) {
      return std::stoll(job.payload.substr(position, end - position));
    }
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("job {}: payload {} has no request_id", job.id, job.payload));
}

std::chrono::seconds CommitmentService::RetryDelay(int attempts) {
  const int doublings = std::clamp(attempts - 1, 0, 8);
  return std::min(std::chrono::seconds(15 << doublings), std::chrono::seconds(3600));
}

}  // namespace hokan::archive
