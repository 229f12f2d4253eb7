#pragma once

#include <string_view>

namespace hokan {

// Fault injection for crash tests. Failpoint(name) ends the process at once
// with _exit(137) (as if killed: no destructors, no flushing, no rollback
// beyond what PostgreSQL does for a dropped session) when the environment
// variable HOKAN_FAILPOINTS, a comma-separated list of names, contains
// `name`; otherwise it does nothing. The variable is read once per
// process; the cost of an inactive failpoint is one branch. A list entry
// "<name>=pause" pauses instead, to interleave another action with the
// process at that point: it writes <name>.reached into the folder
// $HOKAN_FAILPOINT_DIR (default: the working folder) and waits until
// <name>.release appears there (at most 5 minutes), then goes on.
//
// Names in use (archive/retention/expiry_service.cc):
//   expiry-after-claim       a deletion is recorded, no file moved yet
//   expiry-after-quarantine  the study's files are in quarantine, rows still present
//   expiry-after-commit      rows deleted and audited, quarantine not yet removed
// and (archive/export/offline_export_service.cc):
//   export-before-rename     the media folder is written as <name>.partial
//   export-after-rename      the folder has its final name, not yet recorded
// and (archive/ingest/file_sync_worker.cc):
//   ingest-during-flush      a group commit's files are placed, their flush not
//                            yet begun, no row of the batch committed
void Failpoint(std::string_view name);

}  // namespace hokan
