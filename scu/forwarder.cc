#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/forwarder.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/dicom_sender.h"
#include "scu/archive_commitments.h"
#include "scu/commitment_client.h"
#include "scu/forward_schedule.h"
#include "scu/purge.h"

namespace hokan::relay {
namespace {

constexpr int kMaxDueItems = 20000;        // items considered per scheduling round
const char* TimingName(BackupTiming timing) {
  switch (timing) {
    case BackupTiming::kOnReceipt: return "on receipt";
    case BackupTiming::kNightly: return "nightly";
    case BackupTiming::kPerExam: return "per exam";
  }
  return "?";
}

double JitterUnit() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

}  // namespace

struct Forwarder::Impl {
  struct Batch {
    std::string why;  // the timing that made it due
    std::vector<SpoolItem> items;
  };
  Impl(const RelayConfig& config_in, SpoolQueue& queue_in, std::vector<PeerAddress> addresses)
      : config(config_in),
        timing(FileTiming(config_in)),
        on_receipt(config_in.timing == BackupTiming::kOnReceipt),
        queue(queue_in),
        archive(ArchiveTarget(config)),
        archive_commitments(config, queue, [this] { WakeScheduler(); }),
        modality_commitments(config, queue, std::move(addresses)) {}

  std::string ArchiveName() const { return relay::ArchiveName(config); }

  void WakeScheduler() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      notified = true;
    }
    wake.notify_one();
  }

  // The configuration with the timing in use, for one scheduling round.
  RelayConfig Schedule() const {
    std::lock_guard<std::mutex> lock(timing_mutex);
    return WithTiming(config, timing);
  }

  void Scheduler();
  void RunRound(const RelayConfig& schedule);
  void ScheduleSending(const RelayConfig& schedule, TimePoint now, bool low_space);
  void Purge(TimePoint now);
  void Worker();
  void SendBatch(const Batch& batch);
  void RetryOrPark(const SpoolItem& item, SendOutcome outcome, const std::string& reason,
                   TimePoint now);

  const RelayConfig config;
  mutable std::mutex timing_mutex;
  EffectiveTiming timing;  // guarded by timing_mutex
  std::atomic<bool> on_receipt{false};  // timing is on receipt (InstanceSpooled)
  SpoolQueue& queue;
  dicom::SendTarget archive;
  ArchiveCommitments archive_commitments;
  ModalityCommitments modality_commitments;

  std::mutex mutex;
  std::condition_variable wake;             // the scheduler
  std::condition_variable batches_ready;    // the senders
  bool started = false;
  bool stopping = false;
  bool notified = false;
  std::deque<Batch> batches;
  int batches_in_flight = 0;
  std::vector<std::thread> threads;
  std::string last_wait_note;
  TimePoint last_wait_note_at;
  std::atomic<bool> last_low_space{false};  // read by InstanceSpooled on SCP threads
};

void Forwarder::Impl::Scheduler() {
  while (true) {
    // Until the next round: the poll interval, or less when the timing's
    // next due instant (nightly_at) comes sooner, so that nightly
    // forwarding starts on its second rather than up to a poll later.
    std::chrono::microseconds wait = config.poll_interval;
    try {
      const RelayConfig schedule = Schedule();
      RunRound(schedule);
      wait = WaitBeforeNextRound(schedule, Now());
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "forwarding round failed: {}", error.what());
    }
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait_for(lock, wait, [this] { return stopping || notified; });
    if (stopping) return;
    notified = false;
  }
}

void Forwarder::Impl::RunRound(const RelayConfig& schedule) {
  const TimePoint now = Now();
  bool low_space = false;
  std::int64_t free_bytes = 0;
  try {
    free_bytes = SpoolFreeBytes(config.spool_dir);
    low_space = UnderWatermark(free_bytes, config.low_space_watermark_bytes);
  } catch (const Error& error) {
    Log(LogLevel::kWarn, "{}", error.what());
  }
  if (low_space != last_low_space) {
    last_low_space = low_space;
    if (low_space) {
      Log(LogLevel::kWarn,
          "spool {}: {} bytes free, under the watermark of {} bytes: forwarding everything "
          "spooled now and freeing committed copies oldest first",
          config.spool_dir.string(), free_bytes, config.low_space_watermark_bytes);
    } else {
      Log(LogLevel::kInfo, "spool {}: {} bytes free, above the watermark again",
          config.spool_dir.string(), free_bytes);
    }
  }
  ScheduleSending(schedule, now, low_space);
  archive_commitments.AskAgainOverdue(now);
  Purge(now);
  modality_commitments.ReportDue(now);
}

namespace {

// Why `waiting` due instances are not sent yet, under the configured timing.
std::string WaitNote(const RelayConfig& config, std::size_t waiting) {
  if (config.timing != BackupTiming::kNightly) {
    return fmt::format("{} instances wait until their study has been quiet for {} min", waiting,
                       config.exam_quiet.count());
  }
  if (!config.nightly_at) {
    return fmt::format("{} instances wait: timing is nightly but nightly_at is not set", waiting);
  }
  return fmt::format("{} instances wait for the nightly forwarding at {:02}:{:02} UTC", waiting,
                     config.nightly_at->count() / 60, config.nightly_at->count() % 60);
}

}  // namespace

void Forwarder::Impl::ScheduleSending(const RelayConfig& schedule, TimePoint now,
                                      bool low_space) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!batches.empty()) return;  // the senders are still busy with the last round
  }
  std::vector<SpoolItem> kept;
  std::map<std::string, int> parked_per_reason;
  for (SpoolItem& item : queue.Due(now, kMaxDueItems)) {
    if (auto reason =
            NotKeptReason(item, config.opted_out_patient_ids, config.modalities)) {
      queue.Park(item.id, *reason);
      ++parked_per_reason[*reason];
    } else {
      kept.push_back(std::move(item));
    }
  }
  for (const auto& [reason, count] : parked_per_reason) {
    Log(LogLevel::kInfo, "parked {} instances, never sent: {}", count, reason);
  }
  std::set<std::string> quiet;
  if (schedule.timing == BackupTiming::kPerExam && !low_space && !kept.empty()) {
    for (std::string& study : queue.QuietStudies(now - schedule.exam_quiet)) {
      quiet.insert(std::move(study));
    }
  }
  const std::vector<SpoolItem> due = DueByTiming(kept, schedule, now, low_space, quiet);
  const std::string wait_note =
      due.size() < kept.size() ? WaitNote(schedule, kept.size() - due.size()) : std::string();
  // Said when waiting starts, then at most once a minute while the count changes.
  if (wait_note != last_wait_note &&
      (last_wait_note.empty() || wait_note.empty() ||
       now - last_wait_note_at >= std::chrono::minutes(1))) {
    if (!wait_note.empty()) Log(LogLevel::kInfo, "{}", wait_note);
    last_wait_note = wait_note;
    last_wait_note_at = now;
  }
  if (due.empty()) return;

  const std::string why = low_space ? "low space" : TimingName(schedule.timing);
  std::vector<Batch> new_batches;
  std::vector<std::int64_t> ids;
  for (std::vector<SpoolItem>& items : SplitIntoBatches(due, config.parallel_associations)) {
    for (const SpoolItem& item : items) ids.push_back(item.id);
    new_batches.push_back(Batch{why, std::move(items)});
  }
  queue.MarkSending(ids);
  Log(LogLevel::kInfo, "forwarding {} instances ({}) in {} batches over {} associations",
      ids.size(), why, new_batches.size(), std::max(1, config.parallel_associations));
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (Batch& batch : new_batches) batches.push_back(std::move(batch));
  }
  batches_ready.notify_all();
}

void Forwarder::Impl::Purge(TimePoint now) {
  const int purged = PurgeCommitted(queue, config.keep_days, now, config.spool_dir,
                                    config.low_space_watermark_bytes);
  if (purged > 0) {
    Log(LogLevel::kInfo, "freed {} committed instances from the spool (keep_days {}{})", purged,
        config.keep_days, last_low_space ? ", under the watermark" : "");
  }
}

void Forwarder::Impl::Worker() {
  while (true) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mutex);
      batches_ready.wait(lock, [this] { return stopping || !batches.empty(); });
      if (stopping) return;
      batch = std::move(batches.front());
      batches.pop_front();
      ++batches_in_flight;
    }
    try {
      SendBatch(batch);
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "sending {} instances to {} failed: {}", batch.items.size(),
          ArchiveName(), error.what());
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      --batches_in_flight;
      notified = true;
    }
    wake.notify_one();
  }
}

void Forwarder::Impl::RetryOrPark(const SpoolItem& item, SendOutcome outcome,
                                  const std::string& reason, TimePoint now) {
  if (outcome == SendOutcome::kPark) {
    queue.Park(item.id, reason);
    return;
  }
  const auto delay = RetryDelay(item.attempts + 1, config.retry_initial, config.retry_max,
                                JitterUnit());
  queue.Retry(item.id, now + delay, reason);
}

void Forwarder::Impl::SendBatch(const Batch& batch) {
  const std::string& study = batch.items.front().study_instance_uid;
  std::vector<std::pair<std::string, std::string>> kinds;
  std::int64_t bytes = 0;
  for (const SpoolItem& item : batch.items) {
    kinds.emplace_back(item.sop_class_uid, item.transfer_syntax_uid);
    bytes += item.size_bytes;
  }
  std::sort(kinds.begin(), kinds.end());
  kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());

  dicom::DicomSender sender;
  const std::string open_error = sender.Open(archive, kinds);
  if (!open_error.empty()) {
    const SendOutcome outcome = OutcomeOfOpenFailure(open_error);
    const TimePoint now = Now();
    for (const SpoolItem& item : batch.items) RetryOrPark(item, outcome, open_error, now);
    const auto delay = RetryDelay(batch.items.front().attempts + 1, config.retry_initial,
                                  config.retry_max, 0.5);
    Log(LogLevel::kWarn, "{} instances of study {} wait: {}; {}", batch.items.size(), study,
        open_error,
        outcome == SendOutcome::kPark
            ? std::string("parked")
            : fmt::format("next attempt in about {} s",
                          std::chrono::duration_cast<std::chrono::seconds>(delay).count()));
    return;
  }
  std::vector<SpoolItem> sent;
  int retried = 0, parked = 0;
  std::string last_problem;
  const std::string transaction_uid = NewTransactionUid();
  for (const SpoolItem& item : batch.items) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) break;  // the rest stays 'sending': recovered at the next start
    }
    const dicom::SendResult result =
        sender.Send(item.file, item.sop_class_uid, item.transfer_syntax_uid, "", 0);
    if (result.ok) {
      // Recorded for the whole batch below: a crash before that leaves the
      // items 'sending', re-sent after the restart (the archive answers an
      // identical re-send with success and keeps one copy).
      sent.push_back(item);
      continue;
    }
    SendOutcome outcome;
    if (result.status != 0) {
      outcome = OutcomeOfStatus(result.status);
    } else {
      // No answer: the association broke (retry) or the file cannot go at all (park).
      const bool network = result.reason.rfind("C-STORE failed", 0) == 0 ||
                           result.reason.find("not open") != std::string::npos;
      outcome = network ? SendOutcome::kRetry : SendOutcome::kPark;
    }
    const std::string reason =
        outcome == SendOutcome::kPark ? fmt::format("refused by {}: {}", ArchiveName(),
                                                    result.reason)
                                      : result.reason;
    RetryOrPark(item, outcome, reason, Now());
    (outcome == SendOutcome::kPark ? parked : retried) += 1;
    last_problem = reason;
  }
  std::vector<std::int64_t> sent_ids;
  for (const SpoolItem& item : sent) sent_ids.push_back(item.id);
  queue.MarkSent(sent_ids, transaction_uid);
  sender.Close();
  Log(LogLevel::kInfo, "sent {} of {} instances ({} bytes) of study {} to {} ({}){}",
      sent.size(), batch.items.size(), bytes, study, ArchiveName(), batch.why,
      retried + parked == 0
          ? std::string()
          : fmt::format("; {} to retry, {} parked: {}", retried, parked, last_problem));
  archive_commitments.Ask(transaction_uid, std::move(sent));
}

Forwarder::Forwarder(const RelayConfig& config, SpoolQueue& queue,
                     std::vector<PeerAddress> modality_addresses)
    : impl_(std::make_unique<Impl>(config, queue, std::move(modality_addresses))) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->started) return;
  impl_->started = true;
  dicom::DicomSender::RegisterDecoders();
  const int recovered = impl_->queue.RecoverInterrupted();
  if (recovered > 0) {
    Log(LogLevel::kInfo, "{} instances interrupted while sending are spooled again", recovered);
  }
  Log(LogLevel::kInfo, "forwarding to {} ({}, {} parallel associations)", impl_->ArchiveName(),
      TimingName(impl_->Schedule().timing), impl_->config.parallel_associations);
  const int workers = std::max(1, impl_->config.parallel_associations);
  impl_->archive_commitments.Start(workers);
  impl_->threads.emplace_back([this] { impl_->Scheduler(); });
  for (int i = 0; i < workers; ++i) impl_->threads.emplace_back([this] { impl_->Worker(); });
}

void Forwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->batches_ready.notify_all();
  for (std::thread& thread : impl_->threads) {
    if (thread.joinable()) thread.join();
  }
  impl_->archive_commitments.Stop();
}

void Forwarder::Notify() { impl_->WakeScheduler(); }

void Forwarder::InstanceSpooled() {
  if (impl_->on_receipt || impl_->last_low_space) impl_->WakeScheduler();
}

void Forwarder::UseTiming(const EffectiveTiming& timing) {
  {
    std::lock_guard<std::mutex> lock(impl_->timing_mutex);
    impl_->timing = timing;
    impl_->on_receipt = timing.timing == BackupTiming::kOnReceipt;
  }
  impl_->WakeScheduler();
}

EffectiveTiming Forwarder::Timing() const {
  std::lock_guard<std::mutex> lock(impl_->timing_mutex);
  return impl_->timing;
}

std::uint16_t Forwarder::HandleCommitmentReport(const std::string& calling_ae,
                                                std::uint16_t event_type_id,
                                                DcmDataset& event_information) {
  return impl_->archive_commitments.HandleReport(calling_ae, event_type_id, event_information);
}

std::uint16_t Forwarder::HandleCommitmentRequest(const std::string& calling_ae,
                                                 DcmDataset& action_information) {
  return impl_->modality_commitments.HandleRequest(calling_ae, action_information);
}

}  // namespace hokan::relay
