#pragma once

// The other side of Storage Commitment for tests: a requester (DcmSCU) that
// sends N-ACTION and may wait for the N-EVENT-REPORT on its association, and
// a receiver (DcmSCP in a thread, on a free port) that accepts reports on
// associations the archive opens.

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dcmtk/dcmdata/dcdatset.h"

namespace hokan::integration {

// One N-EVENT-REPORT as received.
struct ReceivedReport {
  std::string calling_ae;  // the sender's AE title (receiver only)
  std::uint16_t event_type_id = 0;
  std::string transaction_uid;
  std::vector<std::string> committed;  // Referenced SOP Instance UIDs
  std::vector<std::pair<std::string, std::uint16_t>> failed;  // UID, Failure Reason
};

// What the archive answered to an N-ACTION.
struct ActionAnswer {
  std::string error;  // not empty: no response (network trouble)
  std::uint16_t status = 0;
  std::string error_comment;
};

// The Action Information of Request Storage Commitment for (class, instance)
// pairs.
std::unique_ptr<DcmDataset> CommitmentRequestDataset(
    const std::string& transaction_uid,
    const std::vector<std::pair<std::string, std::string>>& items);

// A Storage Commitment SCU on one association (SCU role, default).
class CommitmentRequester {
 public:
  CommitmentRequester(const std::string& calling_ae, const std::string& called_ae,
                      std::uint16_t port);
  ~CommitmentRequester();

  // Opens the association; "" or what failed.
  std::string Open();
  // Sends N-ACTION (Action Type ID 1 unless given) with `information`.
  ActionAnswer RequestCommitment(DcmDataset& information, std::uint16_t action_type_id = 1);
  // Waits up to `seconds` for an N-EVENT-REPORT on this association and
  // answers it with success; nullopt when none came.
  std::optional<ReceivedReport> WaitForReport(int seconds);
  void Release();
  void Abort();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Accepts associations proposing the Storage Commitment Push Model SOP
// Class (in the SCP role, as the archive proposes it) and records every
// N-EVENT-REPORT. Runs until destroyed. Thread-safe.
class ReportReceiver {
 public:
  // Listens on `port`, or on a free port when 0. Throws std::runtime_error
  // when it cannot listen.
  explicit ReportReceiver(const std::string& ae_title, std::uint16_t port = 0);
  ~ReportReceiver();

  std::uint16_t port() const { return port_; }
  std::vector<ReceivedReport> Reports() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace hokan::integration
