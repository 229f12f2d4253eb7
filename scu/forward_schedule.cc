#include "scu/forward_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace hokan::relay {

TimePoint LatestNightlyTime(TimePoint now, std::chrono::minutes nightly_at) {
  constexpr std::int64_t kSecondsPerDay = 86400;
  const std::int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::int64_t day_start = seconds / kSecondsPerDay * kSecondsPerDay;
  if (day_start > seconds) day_start -= kSecondsPerDay;  // before 1970
  TimePoint nightly = TimePoint(std::chrono::seconds(day_start)) + nightly_at;
  if (nightly > now) nightly -= std::chrono::hours(24);
  return nightly;
}

std::optional<TimePoint> NextDueInstant(const RelayConfig& config, TimePoint now) {
  if (config.timing != BackupTiming::kNightly || !config.nightly_at) return std::nullopt;
  return LatestNightlyTime(now, *config.nightly_at) + std::chrono::hours(24);
}

std::chrono::microseconds WaitBeforeNextRound(const RelayConfig& config, TimePoint now) {
  const auto poll = std::chrono::duration_cast<std::chrono::microseconds>(config.poll_interval);
  const std::optional<TimePoint> due = NextDueInstant(config, now);
  if (!due) return poll;
  return std::min(poll, std::chrono::ceil<std::chrono::microseconds>(*due - now));
}

bool UnderWatermark(std::int64_t free_bytes, std::int64_t watermark_bytes) {
  return free_bytes < watermark_bytes;
}

std::optional<std::string> NotKeptReason(const SpoolItem& item,
                                         const std::vector<std::string>& opted_out_patient_ids,
                                         const std::vector<std::string>& modalities) {
  if (std::find(opted_out_patient_ids.begin(), opted_out_patient_ids.end(), item.patient_id) !=
      opted_out_patient_ids.end()) {
    return std::string("not kept by the contract: the patient opted out");
  }
  if (!modalities.empty() &&
      std::find(modalities.begin(), modalities.end(), item.modality) == modalities.end()) {
    return fmt::format("not kept by the contract: modality '{}' is not selected", item.modality);
  }
  return std::nullopt;
}

std::vector<SpoolItem> DueByTiming(const std::vector<SpoolItem>& candidates,
                                   const RelayConfig& config, TimePoint now, bool low_space,
                                   const std::set<std::string>& quiet_studies) {
  if (low_space || config.timing == BackupTiming::kOnReceipt) return candidates;
  std::vector<SpoolItem> due;
  if (config.timing == BackupTiming::kNightly) {
    if (!config.nightly_at) return due;
    const TimePoint boundary = LatestNightlyTime(now, *config.nightly_at);
    for (const SpoolItem& item : candidates) {
      if (item.received_at < boundary) due.push_back(item);
    }
    return due;
  }
  for (const SpoolItem& item : candidates) {
    if (quiet_studies.count(item.study_instance_uid) != 0) due.push_back(item);
  }
  return due;
}

std::vector<std::vector<SpoolItem>> SplitIntoBatches(const std::vector<SpoolItem>& due,
                                                     int parallel_associations) {
  const std::size_t wanted =
      kBatchesPerAssociation * static_cast<std::size_t>(std::max(1, parallel_associations));
  const std::size_t size_limit =
      std::clamp<std::size_t>((due.size() + wanted - 1) / wanted, kMinBatchItems, kMaxBatchItems);
  std::vector<std::string> study_order;
  std::unordered_map<std::string, std::vector<const SpoolItem*>> per_study;
  for (const SpoolItem& item : due) {
    auto [it, inserted] = per_study.try_emplace(item.study_instance_uid);
    if (inserted) study_order.push_back(item.study_instance_uid);
    it->second.push_back(&item);
  }
  std::vector<std::vector<SpoolItem>> batches;
  for (const std::string& study : study_order) {
    const std::vector<const SpoolItem*>& items = per_study[study];
    // Equal parts: 100 with a limit of 63 go as 50 and 50.
    const std::size_t parts = (items.size() + size_limit - 1) / size_limit;
    const std::size_t part = (items.size() + parts - 1) / parts;
    for (std::size_t begin = 0; begin < items.size(); begin += part) {
      std::vector<SpoolItem>& batch = batches.emplace_back();
      for (std::size_t i = begin; i < std::min(items.size(), begin + part); ++i) {
        batch.push_back(*items[i]);
      }
    }
  }
  return batches;
}

std::chrono::milliseconds RetryDelay(int attempts, std::chrono::seconds retry_initial,
                                     std::chrono::seconds retry_max, double jitter_unit) {
  const double initial_ms = static_cast<double>(retry_initial.count()) * 1000.0;
  const double max_ms = static_cast<double>(retry_max.count()) * 1000.0;
  const int doublings = std::clamp(attempts - 1, 0, 40);
  const double base = std::min(initial_ms * std::pow(2.0, doublings), max_ms);
  const double factor = 1.0 + 0.4 * (std::clamp(jitter_unit, 0.0, 1.0) - 0.5);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(base * factor)));
}

SendOutcome OutcomeOfStatus(std::uint16_t status) {
  if (status == 0x0000 || (status & 0xF000) == 0xB000) return SendOutcome::kSent;
  if ((status & 0xFF00) == 0xA700) return SendOutcome::kRetry;
  return SendOutcome::kPark;
}

SendOutcome OutcomeOfOpenFailure(const std::string& reason) {
  std::string lower = reason;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("rejected-permanent") != std::string::npos ||
      lower.find("rejected permanent") != std::string::npos ||
      lower.find("rejectedpermanent") != std::string::npos) {
    return SendOutcome::kPark;
  }
  return SendOutcome::kRetry;
}

}  // namespace hokan::relay
