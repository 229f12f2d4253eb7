#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/archive_commitments.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "archive/common/log.h"
#include "scu/commitment_client.h"

namespace hokan::relay {
namespace {

constexpr std::size_t kMaxItemsPerRequest = 500;
constexpr int kMaxCommitmentAttempts = 3;  // sends of an instance the archive did not commit
constexpr int kAllSent = 1000000;

}  // namespace

struct ArchiveCommitments::Impl {
  struct Outstanding {  // asked, waiting for the archive's report
    TimePoint asked_at;
    std::vector<SpoolItem> items;
  };

  Impl(const RelayConfig& config_in, SpoolQueue& queue_in, std::function<void()> on_report_in)
      : config(config_in),
        queue(queue_in),
        on_report(std::move(on_report_in)),
        archive(ArchiveTarget(config)) {}

  std::string ArchiveName() const { return relay::ArchiveName(config); }

  void Queue(const std::string& transaction_uid, std::vector<SpoolItem> items) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      outstanding[transaction_uid] = Outstanding{Now(), std::move(items)};
      jobs.push_back(transaction_uid);
    }
    job_ready.notify_one();
  }

  // Records `items` as sent under a new Transaction UID and asks for them.
  void AskAnew(std::vector<SpoolItem> items) {
    for (std::size_t begin = 0; begin < items.size(); begin += kMaxItemsPerRequest) {
      const std::size_t end = std::min(items.size(), begin + kMaxItemsPerRequest);
      std::vector<SpoolItem> part(items.begin() + begin, items.begin() + end);
      const std::string transaction_uid = NewTransactionUid();
      std::vector<std::int64_t> ids;
      for (const SpoolItem& item : part) ids.push_back(item.id);
      queue.MarkSent(ids, transaction_uid);
      Queue(transaction_uid, std::move(part));
    }
  }

  void Worker();
  void Apply(const ArchiveReport& report, const std::string& how);

  const RelayConfig config;
  SpoolQueue& queue;
  const std::function<void()> on_report;
  dicom::SendTarget archive;

  std::mutex mutex;
  std::condition_variable job_ready;
  bool stopping = false;
  std::deque<std::string> jobs;  // Transaction UIDs to ask for
  std::map<std::string, Outstanding> outstanding;
  std::vector<std::thread> threads;
};

void ArchiveCommitments::Impl::Worker() {
  while (true) {
    std::string transaction_uid;
    std::vector<std::pair<std::string, std::string>> items;
    {
      std::unique_lock<std::mutex> lock(mutex);
      job_ready.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping) return;
      transaction_uid = jobs.front();
      jobs.pop_front();
      auto it = outstanding.find(transaction_uid);
      if (it == outstanding.end()) continue;
      it->second.asked_at = Now();
      for (const SpoolItem& item : it->second.items) {
        items.emplace_back(item.sop_class_uid, item.sop_instance_uid);
      }
    }
    const CommitmentAttempt attempt = RequestArchiveCommitment(
        archive, transaction_uid, items, config.commitment_report_wait_seconds);
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
        Apply(*attempt.report, "on the same association");
      } catch (const std::exception& error) {
        Log(LogLevel::kError, "storage commitment report {}: cannot record it: {}",
            transaction_uid, error.what());
      }
    }
  }
}

void ArchiveCommitments::Impl::Apply(const ArchiveReport& report, const std::string& how) {
  const TimePoint now = Now();
  if (!report.committed.empty()) {
    queue.MarkCommitted(report.transaction_uid, report.committed, now);
  }
  std::vector<SpoolItem> answered_items;
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
      (answered.count(item.sop_instance_uid) ? answered_items : unanswered)
          .push_back(std::move(item));
    }
    if (unanswered.empty()) {
      outstanding.erase(it);
    } else {
      it->second.items = std::move(unanswered);
    }
  }
  std::map<std::string, const SpoolItem*> by_uid;
  for (const SpoolItem& item : answered_items) by_uid[item.sop_instance_uid] = &item;
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
  if (on_report) on_report();
}

ArchiveCommitments::ArchiveCommitments(const RelayConfig& config, SpoolQueue& queue,
                                       std::function<void()> on_report)
    : impl_(std::make_unique<Impl>(config, queue, std::move(on_report))) {}

ArchiveCommitments::~ArchiveCommitments() { Stop(); }

void ArchiveCommitments::Start(int threads) {
  // Sent before a restart, report not seen: ask the archive again.
  std::vector<SpoolItem> sent = impl_->queue.InState(ItemState::kSent, kAllSent);
  if (!sent.empty()) {
    Log(LogLevel::kInfo,
        "asking {} again for storage commitment of {} instances sent before the restart",
        impl_->ArchiveName(), sent.size());
    impl_->AskAnew(std::move(sent));
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (int i = 0; i < std::max(1, threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->Worker(); });
  }
}

void ArchiveCommitments::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
    threads.swap(impl_->threads);
  }
  impl_->job_ready.notify_all();
  for (std::thread& thread : threads) thread.join();
}

void ArchiveCommitments::Ask(const std::string& transaction_uid, std::vector<SpoolItem> items) {
  if (!items.empty()) impl_->Queue(transaction_uid, std::move(items));
}

void ArchiveCommitments::AskAgainOverdue(TimePoint now) {
  std::vector<SpoolItem> again;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (auto it = impl_->outstanding.begin(); it != impl_->outstanding.end();) {
      const bool queued = std::find(impl_->jobs.begin(), impl_->jobs.end(), it->first) !=
                          impl_->jobs.end();
      if (!queued && it->second.asked_at + impl_->config.commitment_wait <= now) {
        for (SpoolItem& item : it->second.items) again.push_back(std::move(item));
        it = impl_->outstanding.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (again.empty()) return;
  Log(LogLevel::kInfo,
      "no storage commitment report from {} for {} instances after {} s: asking again",
      impl_->ArchiveName(), again.size(), impl_->config.commitment_wait.count());
  impl_->AskAnew(std::move(again));
}

std::uint16_t ArchiveCommitments::HandleReport(const std::string& calling_ae,
                                               std::uint16_t event_type_id,
                                               DcmDataset& event_information) {
  try {
    const ArchiveReport report = ParseArchiveReport(event_information);
    impl_->Apply(report, fmt::format("event type {} on a new association from {}",
                                     event_type_id, calling_ae));
    return 0x0000;
  } catch (const std::exception& error) {
    Log(LogLevel::kError, "storage commitment report from {}: {}", calling_ae, error.what());
    return 0x0110;
  }
}

}  // namespace hokan::relay
