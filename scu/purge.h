#pragma once

// Freeing local copies: only committed items, when older than keep_days or
// earlier when the spool volume is under the low-space watermark.

#include <cstdint>
#include <filesystem>
#include <vector>

#include "archive/common/clock.h"
#include "scu/spool_queue.h"

namespace hokan::relay {

// Free bytes available to the relay on the volume of `spool_dir`
// (std::filesystem::space). Throws hokan::Error(kStorage) when it cannot be
// measured.
std::int64_t SpoolFreeBytes(const std::filesystem::path& spool_dir);

// Which of `committed` (items in state committed) to purge now: every item
// committed at least `keep_days` days before `now`; and, while `free_bytes`
// plus what is already chosen stays under `watermark_bytes`, the oldest
// committed of the rest. Items without committed_at or in another state are
// never chosen. Pure.
std::vector<SpoolItem> ItemsToPurge(std::vector<SpoolItem> committed, int keep_days,
                                    TimePoint now, std::int64_t free_bytes,
                                    std::int64_t watermark_bytes);

// Deletes the files of ItemsToPurge(queue's committed items, …) and marks
// them purged (a file already gone counts as deleted). Returns how many.
// Throws hokan::Error(kStorage) when a file cannot be deleted (that item
// stays committed).
int PurgeCommitted(SpoolQueue& queue, int keep_days, TimePoint now,
                   const std::filesystem::path& spool_dir, std::int64_t watermark_bytes);

}  // namespace hokan::relay
