#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scu/relay/relay_config.h"
#include "scu/relay/spool_queue.h"

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

// Forwards the spool to the archive: decides what is due (timing mode,
// selection, low-space watermark), sends it over parallel_associations
// associations, retries transient failures with exponential backoff and
// jitter, parks permanent ones with their reason, asks the archive for
// Storage Commitment, marks committed items on the report, and purges
// committed copies (keep_days, or earlier under the watermark). It also
// answers Storage Commitment requests from the modalities listed in
// commitment_ae_titles, once the archive committed (or failed) all their
// instances.
//
// Lifecycle: construct, Start(), and Stop() (or destroy) before the queue
// goes. The Handle* hooks are thread-safe and may be called from any SCP
// thread at any time after construction; they never throw.
class Forwarder {
 public:
  // `queue` must outlive the Forwarder. `modality_addresses`: where to send
  // the relay's own commitment reports ([relay] modality_addresses).
  Forwarder(const RelayConfig& config, SpoolQueue& queue,
            std::vector<PeerAddress> modality_addresses = {});
  ~Forwarder();  // Stop()s
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Starts the scheduler and the sending threads (items left in 'sending'
  // by a crash are recovered first). Returns at once.
  void Start();
  // Finishes the instances in flight (each association ends after its
  // current C-STORE), joins the threads. Idempotent.
  void Stop();

  // Wakes the scheduler at once (e.g. after an instance was spooled), so
  // on-receipt forwarding does not wait for poll_interval.
  void Notify();

  // Hook for the relay SCP: an N-EVENT-REPORT (Storage Commitment Push
  // Model, 1.2.840.10008.1.20.1) that arrived on a new association from
  // `calling_ae`. `event_type_id` is 1 (all committed) or 2 (some failed);
  // `event_information` carries the Transaction UID, Referenced SOP
  // Sequence and Failed SOP Sequence. Returns the DIMSE status to answer:
  // 0x0000 when recorded (an unknown Transaction UID is logged and still
  // answered 0x0000, so the archive does not retry forever), 0x0110 when
  // the report cannot be parsed or recorded.
  std::uint16_t HandleCommitmentReport(const std::string& calling_ae,
                                       std::uint16_t event_type_id,
                                       DcmDataset& event_information);

  // Hook for the relay SCP: an N-ACTION (Storage Commitment request, action
  // type 1) from a modality. Returns the DIMSE status to answer: 0x0000
  // when remembered (the report follows on a new association to the
  // modality's address once the archive has decided on every instance),
  // 0x0124 when `calling_ae` is not in commitment_ae_titles, 0x0115
  // (invalid argument) when the request has no Transaction UID or no
  // references.
  std::uint16_t HandleCommitmentRequest(const std::string& calling_ae,
                                        DcmDataset& action_information);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hokan::relay
