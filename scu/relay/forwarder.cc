#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/relay/forwarder.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "scp/storage_commitment.h"
#include "scu/dicom_sender.h"
#include "scu/relay/commitment_client.h"
#include "scu/relay/forward_schedule.h"
#include "scu/relay/purge.h"

namespace hokan::relay {
namespace {

constexpr int kMaxDueItems = 20000;        // items considered per scheduling round
constexpr std::size_t kMaxBatchItems = 500;  // instances per association
constexpr int kMaxCommitmentAttempts = 3;  // sends of an instance the archive did not commit
constexpr int kLargeLimit = 1000000;

std::string Trim(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

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

struct Forwarder::Impl {
  struct Batch {
    std::string why;  // the timing that made it due
    std::vector<SpoolItem> items;
  };
  struct Outstanding {  // sent, waiting for the archive's report
    TimePoint asked_at;
    std::vector<SpoolItem> items;
  };
  struct ModalityRequest {  // a modality asked us for commitment
    std::string calling_ae;
    std::vector<archive::CommitmentItem> items;
    TimePoint next_try_at;
  };

  Impl(const RelayConfig& config_in, SpoolQueue& queue_in, std::vector<PeerAddress> addresses)
      : config(config_in), queue(queue_in), modality_addresses(std::move(addresses)) {
    archive.calling_ae = config.ae_title;
    archive.called_ae = config.archive_ae_title;
    archive.host = config.archive_host;
    archive.port = config.archive_port;
    archive.acse_timeout_seconds = config.acse_timeout_seconds;
    archive.dimse_timeout_seconds = config.dimse_timeout_seconds;
  }

  std::string ArchiveName() const {
    return fmt::format("{}@{}:{}", archive.called_ae, archive.host, archive.port);
  }

  void Scheduler();
  void RunRound();
  void ScheduleSending(TimePoint now, bool low_space);
  void ReaskCommitment(TimePoint now);
  void Purge(TimePoint now);
  void ReportToModalities(TimePoint now);
  void Worker();
  void SendBatch(const Batch& batch);
  void RetryOrPark(const SpoolItem& item, SendOutcome outcome, const std::string& reason,
                   TimePoint now);
  void CommitmentWorker();
  void ApplyReport(const ArchiveReport& report, const std::string& how);
  void AskCommitment(std::vector<SpoolItem> items, TimePoint now);

  const RelayConfig config;
  SpoolQueue& queue;
  const std::vector<PeerAddress> modality_addresses;
  scu::SendTarget archive;

  std::mutex mutex;
  std::condition_variable wake;             // the scheduler
  std::condition_variable batches_ready;    // the senders
  std::condition_variable commitment_ready; // the commitment requesters
  bool started = false;
  bool stopping = false;
  bool notified = false;
  std::deque<Batch> batches;
  int batches_in_flight = 0;
  std::deque<std::string> commitment_jobs;  // transaction UIDs to ask for
  std::map<std::string, Outstanding> outstanding;
  std::map<std::string, ModalityRequest> modality_requests;
  std::vector<std::thread> threads;
  bool recovered_sent = false;
  std::string last_wait_note;
  bool last_low_space = false;
};

void Forwarder::Impl::Scheduler() {
  while (true) {
    try {
      RunRound();
    } catch (const std::exception& error) {
      Log(LogLevel::kError, "forwarding round failed: {}", error.what());
    }
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait_for(lock, config.poll_interval, [this] { return stopping || notified; });
    if (stopping) return;
    notified = false;
  }
}

void Forwarder::Impl::RunRound() {
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
  if (!recovered_sent) {
    // Sent before a restart, report not seen: ask the archive again.
    recovered_sent = true;
    std::vector<SpoolItem> sent = queue.InState(ItemState::kSent, kLargeLimit);
    for (std::size_t begin = 0; begin < sent.size(); begin += kMaxBatchItems) {
      const std::size_t end = std::min(sent.size(), begin + kMaxBatchItems);
      AskCommitment(std::vector<SpoolItem>(sent.begin() + begin, sent.begin() + end), now);
    }
    if (!sent.empty()) {
      Log(LogLevel::kInfo, "asking {} again for storage commitment of {} instances sent before "
          "the restart", ArchiveName(), sent.size());
    }
  }
  ScheduleSending(now, low_space);
  ReaskCommitment(now);
  Purge(now);
  ReportToModalities(now);
}

void Forwarder::Impl::ScheduleSending(TimePoint now, bool low_space) {
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
  if (config.timing == BackupTiming::kPerExam && !low_space && !kept.empty()) {
    for (std::string& study : queue.QuietStudies(now - config.exam_quiet)) {
      quiet.insert(std::move(study));
    }
  }
  const std::vector<SpoolItem> due = DueByTiming(kept, config, now, low_space, quiet);
  std::string wait_note;
  if (due.size() < kept.size()) {
    const std::size_t waiting = kept.size() - due.size();
    if (config.timing == BackupTiming::kNightly) {
      wait_note = config.nightly_at
                      ? fmt::format("{} instances wait for the nightly forwarding at {:02}:{:02} "
                                    "UTC",
                                    waiting, config.nightly_at->count() / 60,
                                    config.nightly_at->count() % 60)
                      : fmt::format("{} instances wait: timing is nightly but nightly_at is not "
                                    "set",
                                    waiting);
    } else {
      wait_note = fmt::format("{} instances wait until their study has been quiet for {} min",
                              waiting, config.exam_quiet.count());
    }
  }
  if (wait_note != last_wait_note) {
    if (!wait_note.empty()) Log(LogLevel::kInfo, "{}", wait_note);
    last_wait_note = wait_note;
  }
  if (due.empty()) return;

  const std::string why = low_space ? "low space" : TimingName(config.timing);
  const int workers = std::max(1, config.parallel_associations);
  const std::size_t chunk = std::clamp<std::size_t>((due.size() + workers - 1) / workers, 1,
                                                    kMaxBatchItems);
  // Keep a study's instances together; split big studies over associations.
  std::vector<std::string> study_order;
  std::unordered_map<std::string, std::vector<SpoolItem>> per_study;
  for (const SpoolItem& item : due) {
    auto [it, inserted] = per_study.try_emplace(item.study_instance_uid);
    if (inserted) study_order.push_back(item.study_instance_uid);
    it->second.push_back(item);
  }
  std::vector<Batch> new_batches;
  std::vector<std::int64_t> ids;
  for (const std::string& study : study_order) {
    const std::vector<SpoolItem>& items = per_study[study];
    for (std::size_t begin = 0; begin < items.size(); begin += chunk) {
      Batch batch{why, {}};
      batch.items.assign(items.begin() + begin,
                         items.begin() + std::min(items.size(), begin + chunk));
      for (const SpoolItem& item : batch.items) ids.push_back(item.id);
      new_batches.push_back(std::move(batch));
    }
  }
  queue.MarkSending(ids);
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (Batch& batch : new_batches) batches.push_back(std::move(batch));
  }
  batches_ready.notify_all();
}

void Forwarder::Impl::AskCommitment(std::vector<SpoolItem> items, TimePoint now) {
  if (items.empty()) return;
  const std::string transaction_uid = NewTransactionUid();
  for (const SpoolItem& item : items) queue.MarkSent(item.id, transaction_uid);
  {
    std::lock_guard<std::mutex> lock(mutex);
    outstanding[transaction_uid] = Outstanding{now, std::move(items)};
    commitment_jobs.push_back(transaction_uid);
  }
  commitment_ready.notify_one();
}

void Forwarder::Impl::ReaskCommitment(TimePoint now) {
  std::vector<std::vector<SpoolItem>> again;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      const bool queued = std::find(commitment_jobs.begin(), commitment_jobs.end(), it->first) !=
                          commitment_jobs.end();
      if (!queued && it->second.asked_at + config.commitment_wait <= now) {
        again.push_back(std::move(it->second.items));
        it = outstanding.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (std::vector<SpoolItem>& items : again) {
    Log(LogLevel::kInfo, "no storage commitment report from {} for {} instances after {} s: "
        "asking again", ArchiveName(), items.size(), config.commitment_wait.count());
    AskCommitment(std::move(items), now);
  }
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

  scu::DicomSender sender;
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
    const scu::SendResult result =
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
  if (sent.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex);
    outstanding[transaction_uid] = Outstanding{Now(), std::move(sent)};
    commitment_jobs.push_back(transaction_uid);
  }
  commitment_ready.notify_one();
}

void Forwarder::Impl::CommitmentWorker() {
  while (true) {
    std::string transaction_uid;
    std::vector<std::pair<std::string, std::string>> items;
    {
      std::unique_lock<std::mutex> lock(mutex);
      commitment_ready.wait(lock, [this] { return stopping || !commitment_jobs.empty(); });
      if (stopping) return;
      transaction_uid = commitment_jobs.front();
      commitment_jobs.pop_front();
      auto it = outstanding.find(transaction_uid);
      if (it == outstanding.end()) continue;
      it->second.asked_at = Now();
      for (const SpoolItem& item : it->second.items) {
        items.emplace_back(item.sop_class_uid, item.sop_instance_uid);
      }
    }
    const CommitmentAttempt attempt =
        RequestArchiveCommitment(archive, transaction_uid, items, config.dimse_timeout_seconds);
    if (!attempt.error.empty() || attempt.status != 0) {
      Log(LogLevel::kWarn,
          "storage commitment of {} instances not requested from {}: {}; asking again after "
          "{} s",
          items.size(), ArchiveName(),
          attempt.error.empty() ? fmt::format("N-ACTION answered 0x{:04X}", attempt.status)
                                : attempt.error,
          config.commitment_wait.count());
      continue;
    }
    if (attempt.report) {
      try {
        ApplyReport(*attempt.report, "on the same association");
      } catch (const std::exception& error) {
        Log(LogLevel::kError, "storage commitment report {}: cannot record it: {}",
            transaction_uid, error.what());
      }
    }
  }
}

void Forwarder::Impl::ApplyReport(const ArchiveReport& report, const std::string& how) {
  const TimePoint now = Now();
  if (!report.committed.empty()) {
    queue.MarkCommitted(report.transaction_uid, report.committed, now);
  }
  Outstanding waiting;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = outstanding.find(report.transaction_uid);
    if (it == outstanding.end()) {
      Log(LogLevel::kInfo,
          "storage commitment report {} ({}): not awaited any more; {} committed recorded, {} "
          "failed ignored",
          report.transaction_uid, how, report.committed.size(), report.failed.size());
      return;
    }
    std::set<std::string> answered(report.committed.begin(), report.committed.end());
    for (const auto& failed : report.failed) answered.insert(failed.first);
    std::vector<SpoolItem> unanswered;
    for (SpoolItem& item : it->second.items) {
      (answered.count(item.sop_instance_uid) ? waiting.items : unanswered)
          .push_back(std::move(item));
    }
    if (unanswered.empty()) {
      outstanding.erase(it);
    } else {
      it->second.items = std::move(unanswered);
    }
  }
  std::map<std::string, const SpoolItem*> by_uid;
  for (const SpoolItem& item : waiting.items) by_uid[item.sop_instance_uid] = &item;
  int resent = 0, parked = 0;
  for (const auto& [uid, reason] : report.failed) {
    auto it = by_uid.find(uid);
    if (it == by_uid.end()) continue;
    const SpoolItem& item = *it->second;
    if (item.attempts + 1 >= kMaxCommitmentAttempts) {
      queue.Park(item.id, fmt::format("the archive did not commit it (failure reason 0x{:04X}) "
                                      "after {} sends",
                                      reason, item.attempts + 1));
      ++parked;
    } else {
      queue.Retry(item.id, now,
                  fmt::format("the archive did not commit it (failure reason 0x{:04X})", reason));
      ++resent;
    }
  }
  Log(LogLevel::kInfo,
      "storage commitment {} from {} ({}): {} committed, {} failed ({} to send again, {} parked)",
      report.transaction_uid, ArchiveName(), how, report.committed.size(), report.failed.size(),
      resent, parked);
  {
    std::lock_guard<std::mutex> lock(mutex);
    notified = true;
  }
  wake.notify_one();
}

void Forwarder::Impl::ReportToModalities(TimePoint now) {
  std::map<std::string, ModalityRequest> requests;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [uid, request] : modality_requests) {
      if (request.next_try_at <= now) requests.emplace(uid, request);
    }
  }
  if (requests.empty()) return;
  std::unordered_map<std::string, ItemState> states;
  for (ItemState state : {ItemState::kSpooled, ItemState::kSending, ItemState::kSent,
                          ItemState::kParked, ItemState::kCommitted, ItemState::kPurged}) {
    for (const SpoolItem& item : queue.InState(state, kLargeLimit)) {
      states[item.sop_instance_uid] = state;
    }
  }
  for (const auto& [transaction_uid, request] : requests) {
    archive::CommitmentReport report;
    report.transaction_uid = transaction_uid;
    report.requester_ae = request.calling_ae;
    bool pending = false;
    for (const archive::CommitmentItem& item : request.items) {
      archive::CommitmentOutcome outcome;
      outcome.item = item;
      auto it = states.find(item.sop_instance_uid);
      if (it == states.end()) {
        outcome.failure = archive::CommitmentFailure::kNoSuchObjectInstance;
        outcome.detail = "not received by the relay";
      } else if (it->second == ItemState::kParked) {
        outcome.failure = archive::CommitmentFailure::kProcessingFailure;
        outcome.detail = "parked: not forwarded to the archive";
      } else if (it->second != ItemState::kCommitted && it->second != ItemState::kPurged) {
        pending = true;
        break;
      }
      report.outcomes.push_back(std::move(outcome));
    }
    if (pending) continue;
    auto address = std::find_if(
        modality_addresses.begin(), modality_addresses.end(),
        [&](const PeerAddress& peer) { return peer.ae_title == request.calling_ae; });
    std::string error = "no modality_addresses entry for this AE";
    archive::ReportAddress report_address;
    if (address != modality_addresses.end()) {
      report_address = archive::ReportAddress{address->ae_title, address->host, address->port};
      scp::ReportSenderSettings settings;
      settings.ae_title = config.ae_title;
      settings.acse_timeout_seconds = config.acse_timeout_seconds;
      settings.dimse_timeout_seconds = config.dimse_timeout_seconds;
      error = scp::SendReportOnNewAssociation(settings, report_address, report);
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (error.empty()) {
      modality_requests.erase(transaction_uid);
      Log(LogLevel::kInfo,
          "storage commitment {} reported to {}@{}:{}: {} committed, {} failed",
          transaction_uid, request.calling_ae, report_address.host, report_address.port,
          report.Committed(), report.Failed());
    } else {
      modality_requests[transaction_uid].next_try_at = now + config.retry_initial;
      Log(LogLevel::kWarn, "storage commitment {} for {}: report not delivered: {}; retrying",
          transaction_uid, request.calling_ae, error);
    }
  }
}

Forwarder::Forwarder(const RelayConfig& config, SpoolQueue& queue,
                     std::vector<PeerAddress> modality_addresses)
    : impl_(std::make_unique<Impl>(config, queue, std::move(modality_addresses))) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->started) return;
  impl_->started = true;
  scu::DicomSender::RegisterDecoders();
  const int recovered = impl_->queue.RecoverInterrupted();
  if (recovered > 0) {
    Log(LogLevel::kInfo, "{} instances interrupted while sending are spooled again", recovered);
  }
  Log(LogLevel::kInfo, "forwarding to {} ({}, {} parallel associations)", impl_->ArchiveName(),
      TimingName(impl_->config.timing), impl_->config.parallel_associations);
  const int workers = std::max(1, impl_->config.parallel_associations);
  impl_->threads.emplace_back([this] { impl_->Scheduler(); });
  for (int i = 0; i < workers; ++i) {
    impl_->threads.emplace_back([this] { impl_->Worker(); });
    impl_->threads.emplace_back([this] { impl_->CommitmentWorker(); });
  }
}

void Forwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->batches_ready.notify_all();
  impl_->commitment_ready.notify_all();
  for (std::thread& thread : impl_->threads) {
    if (thread.joinable()) thread.join();
  }
}

void Forwarder::Notify() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->notified = true;
  }
  impl_->wake.notify_one();
}

std::uint16_t Forwarder::HandleCommitmentReport(const std::string& calling_ae,
                                                std::uint16_t event_type_id,
                                                DcmDataset& event_information) {
  try {
    const ArchiveReport report = ParseArchiveReport(event_information);
    impl_->ApplyReport(report, fmt::format("event type {} on a new association from {}",
                                           event_type_id, calling_ae));
    return 0x0000;
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "storage commitment report from {}: {}", calling_ae, error.what());
    return 0x0110;
  }
}

std::uint16_t Forwarder::HandleCommitmentRequest(const std::string& calling_ae,
                                                 DcmDataset& action_information) {
  try {
    const auto& allowed = impl_->config.commitment_ae_titles;
    if (std::find(allowed.begin(), allowed.end(), calling_ae) == allowed.end()) {
      Log(LogLevel::kWarn, "storage commitment request from {} refused: not in "
          "commitment_ae_titles", calling_ae);
      return scp::kCommitmentNotAuthorized;
    }
    scp::CommitmentRequestParse parsed = scp::ParseCommitmentRequest(action_information);
    if (!parsed.ok) {
      Log(LogLevel::kWarn, "storage commitment request from {} refused: {}", calling_ae,
          parsed.error);
      return parsed.status;
    }
    Impl::ModalityRequest request{calling_ae, std::move(parsed.request.items), TimePoint{}};
    Log(LogLevel::kInfo, "storage commitment request {} from {} for {} instances: reporting "
        "once the archive has committed them", parsed.request.transaction_uid, calling_ae,
        request.items.size());
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      impl_->modality_requests[parsed.request.transaction_uid] = std::move(request);
    }
    Notify();
    return scp::kCommitmentSuccess;
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "storage commitment request from {}: {}", calling_ae, error.what());
    return scp::kCommitmentProcessingFailure;
  }
}

}  // namespace hokan::relay
