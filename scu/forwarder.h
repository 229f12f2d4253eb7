#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scu/contract_timing.h"
#include "scu/modality_commitments.h"
#include "scu/relay_config.h"
#include "scu/spool_queue.h"

class DcmDataset;

namespace hokan::relay {

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

  // Wakes the scheduler at once.
  void Notify();
  // An instance was spooled: on-receipt forwarding (and forwarding under
  // the watermark) starts at once; the other timings see it at their next
  // poll, so a busy modality does not cost a scheduling round per instance.
  void InstanceSpooled();

  // From the next scheduling round on (the scheduler is woken), items are
  // due by `timing` instead of the configuration's [timing]
  // (ContractRefresh: the facility contract's). Thread-safe.
  void UseTiming(const EffectiveTiming& timing);
  // The timing in use: the configuration's until UseTiming. Thread-safe.
  EffectiveTiming Timing() const;

  // Hook for the relay SCP: the archive's N-EVENT-REPORT on a new
  // association (ArchiveCommitments::HandleReport).
  std::uint16_t HandleCommitmentReport(const std::string& calling_ae,
                                       std::uint16_t event_type_id,
                                       DcmDataset& event_information);

  // Hook for the relay SCP: a modality's N-ACTION (Storage Commitment
  // request; ModalityCommitments::HandleRequest).
  std::uint16_t HandleCommitmentRequest(const std::string& calling_ae,
                                        DcmDataset& action_information);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hokan::relay
