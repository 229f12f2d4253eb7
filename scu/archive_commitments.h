#pragma once

// Storage Commitment the relay asks of the archive for what it sent: only
// the archive's N-EVENT-REPORT makes an instance 'committed' (and so
// eligible to be freed).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "scu/relay_config.h"
#include "scu/spool_queue.h"

class DcmDataset;

namespace hokan::relay {

// Asks the archive for commitment of each sent batch (one N-ACTION per
// batch, new Transaction UID) on `threads` threads, waits
// commitment_report_wait_seconds for the report on that association, and
// takes later reports through HandleReport. Committed instances become
// 'committed'; failed ones are sent again (parked after 3 sends). A batch
// without a report after commitment_wait is asked again under a new UID;
// so are items left 'sent' by an earlier run (at Start). Thread-safe;
// HandleReport never throws.
class ArchiveCommitments {
 public:
  // `queue` must outlive this object. `on_report` runs (on any thread)
  // after a report changed the queue, e.g. to wake the scheduler.
  ArchiveCommitments(const RelayConfig& config, SpoolQueue& queue,
                     std::function<void()> on_report);
  ~ArchiveCommitments();  // Stop()s
  ArchiveCommitments(const ArchiveCommitments&) = delete;
  ArchiveCommitments& operator=(const ArchiveCommitments&) = delete;

  void Start(int threads);
  // Joins the threads; an N-ACTION in progress finishes first. Idempotent.
  void Stop();

  // `items` were just recorded 'sent' under `transaction_uid`: ask for them.
  void Ask(const std::string& transaction_uid, std::vector<SpoolItem> items);
  // Asks again for batches whose report is overdue at `now`.
  void AskAgainOverdue(TimePoint now);

  // An N-EVENT-REPORT that arrived on a new association from `calling_ae`.
  // Returns the status to answer: 0x0000 when recorded (an unknown
  // Transaction UID is logged and still answered 0x0000, so the archive
  // does not retry forever), 0x0110 when it cannot be parsed or recorded.
  std::uint16_t HandleReport(const std::string& calling_ae, std::uint16_t event_type_id,
                             DcmDataset& event_information);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hokan::relay
