#pragma once

// Storage Commitment that the relay itself answers to the facility's
// modalities (Push Model, the relay in the SCP role): "is my study safe?"
// is answered only once the archive has committed every instance.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/model/commitment_types.h"
#include "scu/relay_config.h"
#include "scu/spool_queue.h"
#include "scu/sqlite_database.h"

class DcmDataset;

namespace hokan::relay {

// A peer that receives our N-EVENT-REPORTs: a modality that asked the relay
// for Storage Commitment. Parsed from "AE@host:port".
struct PeerAddress {
  std::string ae_title;
  std::string host;
  int port = 0;
};

// Parses "AE@host:port,AE2@host2:port2" (spaces ignored; empty text: none).
// Throws hokan::Error(kConfiguration) naming the bad entry.
std::vector<PeerAddress> ParsePeerAddresses(const std::string& text);

// One request of a modality, as kept until its report is delivered.
struct ModalityRequest {
  std::string transaction_uid;
  std::string calling_ae;
  std::vector<archive::CommitmentItem> items;  // in the request's order
  TimePoint received_at;
  int attempts = 0;  // failed deliveries of the report
};

// What `hokan-forward status` shows of the modalities' requests.
struct ModalityRequestsWaiting {
  std::int64_t count = 0;
  std::optional<TimePoint> oldest;
  std::string last_error;  // of the oldest, when a delivery failed
};

// The requests, durable in the relay's SQLite file (table
// modality_requests and its items). Every method is one transaction and
// throws hokan::Error(kStorage) naming what failed.
class ModalityRequestStore {
 public:
  explicit ModalityRequestStore(const std::filesystem::path& database_file);

  // Keeps `request` (due at once); a request with the same Transaction UID
  // is replaced (a modality repeating its N-ACTION).
  void Add(const ModalityRequest& request);
  // Unreported requests whose next attempt is not after `now`, oldest first.
  std::vector<ModalityRequest> Due(TimePoint now);
  void MarkReported(const std::string& transaction_uid, TimePoint at);
  void RetryAt(const std::string& transaction_uid, TimePoint next_try_at,
               const std::string& error);
  ModalityRequestsWaiting Waiting();

 private:
  SqliteDatabase database_;
};

// Answers the modalities' N-ACTIONs and sends their reports. A report goes
// once every instance of the request is committed by the archive (or
// parked, or never received: those are listed as failed), on a new
// association to the modality's entry in modality_addresses, retried with
// backoff (retry_initial doubling up to retry_max) until delivered; the
// requests survive restarts. Thread-safe.
class ModalityCommitments {
 public:
  // `queue` must outlive this object.
  ModalityCommitments(const RelayConfig& config, SpoolQueue& queue,
                      std::vector<PeerAddress> modality_addresses);

  // An N-ACTION (Request Storage Commitment) from `calling_ae`. Returns the
  // status to answer: 0x0000 once the request is durably kept; 0x0124 when
  // `calling_ae` is not in commitment_ae_titles; 0x0115 and the like for a
  // malformed request (nothing kept); 0x0213 when it cannot be kept. Never
  // throws.
  std::uint16_t HandleRequest(const std::string& calling_ae, DcmDataset& action_information);

  // Sends the reports that are due and ready; logs what it did and why a
  // report waits. Throws hokan::Error(kStorage) when the store fails.
  void ReportDue(TimePoint now);

 private:
  const RelayConfig& config_;
  SpoolQueue& queue_;
  const std::vector<PeerAddress> modality_addresses_;
  ModalityRequestStore store_;
};

}  // namespace hokan::relay
