#pragma once

#include <ostream>

#include "scu/relay_config.h"

namespace hokan::relay {

// `hokan-forward status`: writes to `out` the queue sizes by state, the
// oldest unsent item and its age, the last successful send, the parked
// failures with their reasons, the spool usage and the spool volume's free
// space against the low-space watermark and the free-space floor. With
// `list_items`, also one line per item still on disk:
//   item <id> <state> <SOP Instance UID> study=<UID> size=<bytes> sha256=<hex> attempts=<n> file=<path>
// Opens the queue in <spool_dir>/queue.sqlite (safe while `run` is running).
// Returns the exit code (0). Throws hokan::Error(kStorage) when the queue
// cannot be read.
int RunStatus(const RelayConfig& config, bool list_items, std::ostream& out);

}  // namespace hokan::relay
