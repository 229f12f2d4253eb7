#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/modality_commitments.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/storage_commitment.h"
#include "scu/forward_schedule.h"
#include "dicom/dimse_status.h"

namespace hokan::relay {
namespace {

const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE modality_requests (
  transaction_uid TEXT PRIMARY KEY,
  calling_ae TEXT NOT NULL,
  received_at INTEGER NOT NULL,          -- microseconds since 1970 (UTC)
  attempts INTEGER NOT NULL DEFAULT 0,   -- failed deliveries of the report
  next_try_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  reported_at INTEGER
);
CREATE INDEX modality_requests_waiting ON modality_requests (next_try_at)
  WHERE reported_at IS NULL;
CREATE TABLE modality_request_items (
  transaction_uid TEXT NOT NULL REFERENCES modality_requests (transaction_uid)
    ON DELETE CASCADE,
  position INTEGER NOT NULL,
  sop_class_uid TEXT NOT NULL,
  sop_instance_uid TEXT NOT NULL,
  PRIMARY KEY (transaction_uid, position)
);
)sql",
};

std::string Trim(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

}  // namespace

std::vector<PeerAddress> ParsePeerAddresses(const std::string& text) {
  std::vector<PeerAddress> addresses;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string entry =
        Trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    const std::size_t at = entry.find('@');
    const std::size_t colon = entry.rfind(':');
    PeerAddress address;
    bool ok = at != std::string::npos && colon != std::string::npos && colon > at + 1 && at > 0;
    if (ok) {
      address.ae_title = entry.substr(0, at);
      address.host = entry.substr(at + 1, colon - at - 1);
      try {
        std::size_t used = 0;
        address.port = std::stoi(entry.substr(colon + 1), &used);
        ok = used == entry.size() - colon - 1 && address.port > 0 && address.port < 65536 &&
             address.ae_title.size() <= 16;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) {
      throw Error(ErrorCode::kConfiguration,
                  fmt::format("modality address '{}': expected AE@host:port (AE at most 16 "
                              "characters, port 1-65535)",
                              entry));
    }
    addresses.push_back(address);
  }
  return addresses;
}

ModalityRequestStore::ModalityRequestStore(const std::filesystem::path& database_file)
    : database_(database_file, "modality commitment requests", kMigrations) {}

void ModalityRequestStore::Add(const ModalityRequest& request) {
  std::lock_guard<std::mutex> lock(database_.mutex());
  SqliteTransaction transaction(database_);
  SqliteStatement remove(database_, "DELETE FROM modality_requests WHERE transaction_uid = ?1");
  remove.Bind(1, request.transaction_uid).Step();
  SqliteStatement insert(database_,
                         "INSERT INTO modality_requests (transaction_uid, calling_ae, "
                         "received_at, next_try_at) VALUES (?1, ?2, ?3, ?3)");
  insert.Bind(1, request.transaction_uid).Bind(2, request.calling_ae);
  insert.Bind(3, ToMicros(request.received_at)).Step();
  SqliteStatement item(database_,
                       "INSERT INTO modality_request_items (transaction_uid, position, "
                       "sop_class_uid, sop_instance_uid) VALUES (?1, ?2, ?3, ?4)");
  std::int64_t position = 0;
  for (const archive::CommitmentItem& entry : request.items) {
    item.Bind(1, request.transaction_uid).Bind(2, position++);
    item.Bind(3, entry.sop_class_uid).Bind(4, entry.sop_instance_uid).Step();
    item.Reset();
  }
  transaction.Commit();
}

std::vector<ModalityRequest> ModalityRequestStore::Due(TimePoint now) {
  std::lock_guard<std::mutex> lock(database_.mutex());
  std::vector<ModalityRequest> requests;
  SqliteStatement query(database_,
                        "SELECT transaction_uid, calling_ae, received_at, attempts "
                        "FROM modality_requests WHERE reported_at IS NULL AND next_try_at <= ?1 "
                        "ORDER BY received_at, transaction_uid");
  query.Bind(1, ToMicros(now));
  while (query.Step()) {
    ModalityRequest request;
    request.transaction_uid = query.Text(0);
    request.calling_ae = query.Text(1);
    request.received_at = FromMicros(query.Int(2));
    request.attempts = static_cast<int>(query.Int(3));
    requests.push_back(std::move(request));
  }
  SqliteStatement items(database_,
                        "SELECT sop_class_uid, sop_instance_uid FROM modality_request_items "
                        "WHERE transaction_uid = ?1 ORDER BY position");
  for (ModalityRequest& request : requests) {
    items.Bind(1, request.transaction_uid);
    while (items.Step()) request.items.push_back({items.Text(0), items.Text(1)});
    items.Reset();
  }
  return requests;
}

void ModalityRequestStore::MarkReported(const std::string& transaction_uid, TimePoint at) {
  std::lock_guard<std::mutex> lock(database_.mutex());
  SqliteStatement update(database_,
                         "UPDATE modality_requests SET reported_at = ?2, last_error = '' "
                         "WHERE transaction_uid = ?1");
  update.Bind(1, transaction_uid).Bind(2, ToMicros(at)).Step();
}

void ModalityRequestStore::RetryAt(const std::string& transaction_uid, TimePoint next_try_at,
                                   const std::string& error) {
  std::lock_guard<std::mutex> lock(database_.mutex());
  SqliteStatement update(database_,
                         "UPDATE modality_requests SET attempts = attempts + 1, "
                         "next_try_at = ?2, last_error = ?3 WHERE transaction_uid = ?1");
  update.Bind(1, transaction_uid).Bind(2, ToMicros(next_try_at)).Bind(3, error).Step();
}

ModalityRequestsWaiting ModalityRequestStore::Waiting() {
  std::lock_guard<std::mutex> lock(database_.mutex());
  ModalityRequestsWaiting waiting;
  SqliteStatement count(database_,
                        "SELECT COUNT(*) FROM modality_requests WHERE reported_at IS NULL");
  count.Step();
  waiting.count = count.Int(0);
  SqliteStatement oldest(database_,
                         "SELECT received_at, last_error FROM modality_requests "
                         "WHERE reported_at IS NULL ORDER BY received_at LIMIT 1");
  if (oldest.Step()) {
    waiting.oldest = oldest.Time(0);
    waiting.last_error = oldest.Text(1);
  }
  return waiting;
}

ModalityCommitments::ModalityCommitments(const RelayConfig& config, SpoolQueue& queue,
                                         std::vector<PeerAddress> modality_addresses)
    : config_(config),
      queue_(queue),
      modality_addresses_(std::move(modality_addresses)),
      store_(QueueDatabaseFile(config)) {}

std::uint16_t ModalityCommitments::HandleRequest(const std::string& calling_ae,
                                                 DcmDataset& action_information) {
  try {
    const auto& allowed = config_.commitment_ae_titles;
    if (std::find(allowed.begin(), allowed.end(), calling_ae) == allowed.end()) {
      Log(LogLevel::kWarn,
          "storage commitment request from {} refused: not in commitment_ae_titles",
          calling_ae);
      return dicom::status::kRefusedNotAuthorized;
    }
    dicom::CommitmentRequestParse parsed = dicom::ParseCommitmentRequest(action_information);
    if (!parsed.ok) {
      Log(LogLevel::kWarn, "storage commitment request from {} refused: {}", calling_ae,
          parsed.error);
      return parsed.status;
    }
    ModalityRequest request;
    request.transaction_uid = parsed.request.transaction_uid;
    request.calling_ae = calling_ae;
    request.items = std::move(parsed.request.items);
    request.received_at = Now();
    store_.Add(request);
    Log(LogLevel::kInfo,
        "storage commitment request {} from {} for {} instances: reporting once the archive "
        "has committed them",
        request.transaction_uid, calling_ae, request.items.size());
    return dicom::status::kSuccess;
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "storage commitment request from {} not kept: {}", calling_ae,
        error.what());
    return dicom::status::kResourceLimitation;
  }
}

void ModalityCommitments::ReportDue(TimePoint now) {
  for (const ModalityRequest& request : store_.Due(now)) {
    std::vector<std::string> uids;
    for (const archive::CommitmentItem& item : request.items) uids.push_back(item.sop_instance_uid);
    const std::map<std::string, ItemState> states = queue_.StatesOf(uids);
    archive::CommitmentReport report;
    report.transaction_uid = request.transaction_uid;
    report.requester_ae = request.calling_ae;
    bool pending = false;
    for (const archive::CommitmentItem& item : request.items) {
      archive::CommitmentOutcome outcome;
      outcome.item = item;
      auto state = states.find(item.sop_instance_uid);
      if (state == states.end()) {
        outcome.failure = archive::CommitmentFailure::kNoSuchObjectInstance;
        outcome.detail = "not received by the relay";
      } else if (state->second == ItemState::kParked) {
        outcome.failure = archive::CommitmentFailure::kProcessingFailure;
        outcome.detail = "parked: not forwarded to the archive";
      } else if (state->second != ItemState::kCommitted &&
                 state->second != ItemState::kPurged) {
        pending = true;
        break;
      }
      report.outcomes.push_back(std::move(outcome));
    }
    if (pending) continue;  // asked again at the next round

    auto address = std::find_if(
        modality_addresses_.begin(), modality_addresses_.end(),
        [&](const PeerAddress& peer) { return peer.ae_title == request.calling_ae; });
    std::string error = "no modality_addresses entry for this AE title";
    archive::ReportAddress report_address;
    if (address != modality_addresses_.end()) {
      report_address = archive::ReportAddress{address->ae_title, address->host, address->port};
      dicom::ReportSenderSettings settings;
      settings.ae_title = config_.ae_title;
      settings.acse_timeout_seconds = config_.acse_timeout_seconds;
      settings.dimse_timeout_seconds = config_.dimse_timeout_seconds;
      error = dicom::SendReportOnNewAssociation(settings, report_address, report);
    }
    if (error.empty()) {
      store_.MarkReported(request.transaction_uid, Now());
      Log(LogLevel::kInfo, "storage commitment {} reported to {}@{}:{}: {} committed, {} failed",
          request.transaction_uid, request.calling_ae, report_address.host, report_address.port,
          report.Committed(), report.Failed());
    } else {
      const auto delay =
          RetryDelay(request.attempts + 1, config_.retry_initial, config_.retry_max, 0.5);
      store_.RetryAt(request.transaction_uid, now + delay, error);
      Log(LogLevel::kWarn,
          "storage commitment {} for {}: report not delivered: {}; next attempt in about {} s",
          request.transaction_uid, request.calling_ae, error,
          std::chrono::duration_cast<std::chrono::seconds>(delay).count());
    }
  }
}

}  // namespace hokan::relay
