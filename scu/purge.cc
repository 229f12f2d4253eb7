#include "scu/purge.h"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::relay {

std::int64_t SpoolFreeBytes(const std::filesystem::path& spool_dir) {
  std::error_code error;
  const std::filesystem::space_info space = std::filesystem::space(spool_dir, error);
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("spool {}: cannot measure free space: {}",
                                                 spool_dir.string(), error.message()));
  }
  return static_cast<std::int64_t>(space.available);
}

std::vector<SpoolItem> ItemsToPurge(std::vector<SpoolItem> committed, int keep_days,
                                    TimePoint now, std::int64_t free_bytes,
                                    std::int64_t watermark_bytes) {
  committed.erase(std::remove_if(committed.begin(), committed.end(),
                                 [](const SpoolItem& item) {
                                   return item.state != ItemState::kCommitted ||
                                          !item.committed_at;
                                 }),
                  committed.end());
  std::stable_sort(committed.begin(), committed.end(),
                   [](const SpoolItem& a, const SpoolItem& b) {
                     return *a.committed_at < *b.committed_at;
                   });
  const TimePoint keep_until = now - std::chrono::hours(24) * keep_days;
  std::vector<SpoolItem> chosen;
  std::int64_t freed = 0;
  for (const SpoolItem& item : committed) {
    const bool expired = *item.committed_at <= keep_until;
    const bool space_needed = free_bytes + freed < watermark_bytes;
    if (expired || space_needed) {
      chosen.push_back(item);
      freed += item.size_bytes;
    }
  }
  return chosen;
}

int PurgeCommitted(SpoolQueue& queue, int keep_days, TimePoint now,
                   const std::filesystem::path& spool_dir, std::int64_t watermark_bytes) {
  const std::vector<SpoolItem> committed = queue.InState(ItemState::kCommitted, 100000);
  if (committed.empty()) return 0;
  const std::vector<SpoolItem> chosen =
      ItemsToPurge(committed, keep_days, now, SpoolFreeBytes(spool_dir), watermark_bytes);
  int purged = 0;
  for (const SpoolItem& item : chosen) {
    std::error_code error;
    std::filesystem::remove(item.file, error);
    if (error) {
      throw Error(ErrorCode::kStorage, fmt::format("spooled instance {}: cannot delete {}: {}",
                                                   item.sop_instance_uid, item.file.string(),
                                                   error.message()));
    }
    queue.MarkPurged(item.id);
    ++purged;
  }
  return purged;
}

}  // namespace hokan::relay
