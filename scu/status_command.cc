#include "scu/status_command.h"

#include <fmt/format.h>

#include "archive/common/clock.h"
#include "scu/contract_refresh.h"
#include "scu/modality_commitments.h"
#include "scu/spool_queue.h"
#include "scu/spool_store.h"

namespace hokan::relay {
namespace {

std::string Age(TimePoint since, TimePoint now) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return fmt::format("{}s", seconds);
  if (seconds < 2 * 3600) return fmt::format("{}m", seconds / 60);
  if (seconds < 2 * 86400) return fmt::format("{}h {}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d {}h", seconds / 86400, seconds % 86400 / 3600);
}

// "timing: <what> from <where>" and, when the archive was asked, how that went.
std::string TimingLines(const RelayConfig& config, TimePoint now) {
  const EffectiveTiming file = FileTiming(config);
  // Not asking (contract_refresh_seconds = 0), the relay follows its file
  // whatever an earlier run remembered.
  std::optional<TimingState> state;
  if (config.contract_refresh_seconds != 0) state = TimingMemory(QueueDatabaseFile(config)).Read();
  const EffectiveTiming in_use = state ? state->in_use : file;
  std::string lines = fmt::format("timing: {} from {}", DescribeTiming(in_use),
                                  DescribeSource(in_use));
  if (state && state->learned_at) {
    lines += fmt::format(", learned {} ({} ago)", FormatUtc(*state->learned_at),
                         Age(*state->learned_at, now));
  }
  lines += "\n";
  if (in_use.contract_id && !SameSchedule(in_use, file)) {
    lines += fmt::format("timing in hokan-forward.ini: {} (not followed)\n", DescribeTiming(file));
  }
  if (config.contract_refresh_seconds == 0) {
    lines += "contract: not asked (contract_refresh_seconds = 0)\n";
  } else if (!state || !state->last_asked_at) {
    lines += "contract: not asked yet\n";
  } else if (!state->last_error.empty()) {
    lines += fmt::format("contract: last asked {}: {}\n", FormatUtc(*state->last_asked_at),
                         state->last_error);
  } else {
    lines += fmt::format("contract: last asked {}: answered\n", FormatUtc(*state->last_asked_at));
  }
  return lines;
}

}  // namespace

int RunStatus(const RelayConfig& config, bool list_items, std::ostream& out) {
  SpoolQueue queue(QueueDatabaseFile(config));
  const QueueStatus status = queue.Status();
  const TimePoint now = Now();
  out << fmt::format("relay {} on port {}, spool {}\n", config.ae_title, config.port,
                     std::filesystem::absolute(config.spool_dir).string());
  out << fmt::format("archive {}@{}:{}\n", config.archive_ae_title, config.archive_host,
                     config.archive_port);
  out << TimingLines(config, now);
  out << "queue:\n";
  out << fmt::format("  spooled {}\n  sending {}\n  sent {}\n  committed {}\n  parked {}\n"
                     "  purged {}\n",
                     status.spooled, status.sending, status.sent, status.committed,
                     status.parked, status.purged);
  out << fmt::format("unsent bytes: {}\n", status.unsent_bytes);
  out << (status.oldest_unsent
              ? fmt::format("oldest unsent: {} (age {})\n", FormatUtc(*status.oldest_unsent),
                            Age(*status.oldest_unsent, now))
              : std::string("oldest unsent: none\n"));
  out << (status.last_success
              ? fmt::format("last success: {} ({} ago)\n", FormatUtc(*status.last_success),
                            Age(*status.last_success, now))
              : std::string("last success: never\n"));
  out << fmt::format("spool usage: {} bytes\n", status.spool_bytes);
  const VolumeSpace space = SpaceOf(std::filesystem::absolute(config.spool_dir));
  const bool under_watermark = space.free_bytes < config.low_space_watermark_bytes;
  const bool under_floor = space.free_bytes < config.min_free_bytes;
  out << fmt::format("volume free: {} of {} bytes; watermark {} bytes ({}); floor {} bytes "
                     "({})\n",
                     space.free_bytes, space.total_bytes, config.low_space_watermark_bytes,
                     under_watermark ? "UNDER: forwarding and freeing early" : "ok",
                     config.min_free_bytes,
                     under_floor ? "UNDER: refusing C-STORE with 0xA700" : "ok");
  out << fmt::format("parked failures: {}\n", status.parked);
  for (const SpoolItem& item : status.parked_items) {
    out << fmt::format("  parked {} study={} since {}: {}\n", item.sop_instance_uid,
                       item.study_instance_uid, FormatUtc(item.received_at), item.last_error);
  }
  ModalityRequestStore modality_requests(QueueDatabaseFile(config));
  const ModalityRequestsWaiting waiting = modality_requests.Waiting();
  out << fmt::format("modality commitment requests waiting: {}", waiting.count);
  if (waiting.oldest) {
    out << fmt::format(" (oldest {}, age {}{})", FormatUtc(*waiting.oldest),
                       Age(*waiting.oldest, now),
                       waiting.last_error.empty() ? std::string()
                                                  : "; last delivery: " + waiting.last_error);
  }
  out << "\n";
  if (list_items) {
    constexpr int kAll = 1 << 30;
    for (ItemState state : {ItemState::kSpooled, ItemState::kSending, ItemState::kSent,
                            ItemState::kCommitted, ItemState::kParked}) {
      for (const SpoolItem& item : queue.InState(state, kAll)) {
        out << fmt::format("item {} {} {} study={} size={} sha256={} attempts={} file={}\n",
                           item.id, ItemStateName(item.state), item.sop_instance_uid,
                           item.study_instance_uid, item.size_bytes, item.sha256_hex,
                           item.attempts, item.file.string());
      }
    }
  }
  return 0;
}

}  // namespace hokan::relay
