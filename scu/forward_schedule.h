#pragma once

// Pure decisions of the forwarder (no clock, no files, no network): which
// spooled items are due under each timing mode, which ones the contract
// does not keep, how long to wait before a retry, and what a C-STORE
// outcome means for the item.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "scu/relay_config.h"
#include "scu/spool_queue.h"

namespace hokan::relay {

// The latest nightly time (`nightly_at` after 00:00 UTC) at or before `now`.
TimePoint LatestNightlyTime(TimePoint now, std::chrono::minutes nightly_at);

// The next instant after `now` at which the timing alone makes more spooled
// items due: nightly, the next nightly_at strictly after `now`
// (LatestNightlyTime(now) + 24 h). nullopt when no instant is known from the
// configuration: nightly without nightly_at, on receipt (arriving instances
// wake the scheduler), per exam (a study's quiet time depends on the queue;
// the poll finds it).
std::optional<TimePoint> NextDueInstant(const RelayConfig& config, TimePoint now);

// How long the scheduler sleeps after a round when nothing wakes it: until
// NextDueInstant(config, now) when that comes sooner than poll_interval (so
// nightly forwarding starts on its second), else poll_interval. Rounded up
// to whole microseconds, so that the next round does not start just before
// the due instant.
std::chrono::microseconds WaitBeforeNextRound(const RelayConfig& config, TimePoint now);

// True when free space on the spool volume is under the watermark.
bool UnderWatermark(std::int64_t free_bytes, std::int64_t watermark_bytes);

// Why the contract does not keep `item` ("not kept by the contract: patient
// opted out" / "…: modality XA not selected"), or nullopt when it is kept.
// `modalities` empty means every modality.
std::optional<std::string> NotKeptReason(const SpoolItem& item,
                                         const std::vector<std::string>& opted_out_patient_ids,
                                         const std::vector<std::string>& modalities);

// The items of `candidates` (spooled and retry-due, oldest first) that the
// timing makes due now:
//  - on receipt: all;
//  - nightly: those received before LatestNightlyTime(now) (none when
//    nightly_at is unset);
//  - per exam: those whose study is in `quiet_studies`;
//  - under the watermark (`low_space`): all, whatever the mode.
std::vector<SpoolItem> DueByTiming(const std::vector<SpoolItem>& candidates,
                                   const RelayConfig& config, TimePoint now, bool low_space,
                                   const std::set<std::string>& quiet_studies);

// Cuts `due` into the batches the senders take one at a time (each batch:
// one association, one commitment request). A study's instances stay
// together, in `due`'s order; a study larger than the batch size is cut
// into equal parts. The batch size aims at kBatchesPerAssociation batches
// per association, so that the associations end a round together (20
// studies of 100 over 8 associations: 40 batches of 50, where one batch
// per study left half of them idle for the last 100), but at least
// kMinBatchItems and at most kMaxBatchItems instances.
constexpr std::size_t kBatchesPerAssociation = 4;
constexpr std::size_t kMinBatchItems = 10;
constexpr std::size_t kMaxBatchItems = 500;
std::vector<std::vector<SpoolItem>> SplitIntoBatches(const std::vector<SpoolItem>& due,
                                                     int parallel_associations);

// The delay before retry number `attempts` (1 = first retry):
// retry_initial * 2^(attempts-1), capped at retry_max, then scaled by a
// jitter factor 1 + 0.4 * (jitter_unit - 0.5), i.e. ±20 %.
// REQUIRES: jitter_unit in [0, 1].
std::chrono::milliseconds RetryDelay(int attempts, std::chrono::seconds retry_initial,
                                     std::chrono::seconds retry_max, double jitter_unit);

// What to do with an item after a send attempt.
enum class SendOutcome { kSent, kRetry, kPark };

// Maps a C-STORE answer: success or warning (0xB…) → sent; out of
// resources (0xA7xx) → retry; refused (0x0124, 0xA9xx, 0xC…, anything else
// that is a failure) → park.
SendOutcome OutcomeOfStatus(std::uint16_t status);

// Maps an association failure text (DicomSender::Open's reason): a
// permanent rejection (ASC "rejected-permanent") → park; anything else
// (unreachable, transient rejection, timeout) → retry.
SendOutcome OutcomeOfOpenFailure(const std::string& reason);

}  // namespace hokan::relay
