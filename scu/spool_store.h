#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "scu/spool_queue.h"

namespace hokan::relay {

// The outcome of spooling one instance.
enum class SpoolStatus {
  kSpooled,     // durable on disk and in the queue (also: identical copy already queued)
  kInvalid,     // not a readable DICOM data set: nothing kept (0xC000)
  kOutOfSpace,  // under the free-space floor or a write failed: nothing kept (0xA700)
};

struct SpoolResult {
  SpoolStatus status = SpoolStatus::kSpooled;
  std::string message;  // why, when not spooled
  std::int64_t id = 0;  // the queue item, when spooled
};

// Free and total bytes of the volume holding `path`. Throws hokan::Error(kStorage).
struct VolumeSpace {
  std::int64_t free_bytes = 0;
  std::int64_t total_bytes = 0;
};
VolumeSpace SpaceOf(const std::filesystem::path& path);

// Writes instances durably into the spool folder and records them in the
// queue. Layout: <spool_dir>/incoming/<token>.part while arriving,
// <spool_dir>/files/<study UID>/<SOP Instance UID>.<first 12 hex of SHA-256>.dcm
// once spooled (the checksum in the name keeps a differing re-send from
// overwriting a copy that is still being sent). Order: file fsynced, renamed,
// folder fsynced, then SpoolQueue::Add — so a queued item always has its file.
// Thread-safe.
class SpoolStore {
 public:
  // Creates the folders. Throws hokan::Error(kStorage) when it cannot.
  SpoolStore(const std::filesystem::path& spool_dir, std::int64_t min_free_bytes,
             SpoolQueue& queue);

  // A fresh path under incoming/ for a file about to arrive.
  std::filesystem::path NewIncomingPath() const;

  // True while the spool volume's free space is at least min_free_bytes.
  bool HasSpace() const;

  // Takes `incoming` (a Part-10 file under incoming/, consumed in every
  // case): parses its header, hashes and fsyncs it, renames it into files/
  // and adds it to the queue with `source`. Never throws: failures are
  // results (kStorage trouble is kOutOfSpace, logged).
  SpoolResult SpoolIncoming(const std::filesystem::path& incoming, const std::string& source);

  // Copies `file` (any path) into incoming/ and spools it as above; `file`
  // itself is left alone.
  SpoolResult SpoolCopy(const std::filesystem::path& file, const std::string& source);

  // Start-up sweep: removes every file left in incoming/ by a crash; returns how many.
  int RemoveLeftovers();

  const std::filesystem::path& files_dir() const { return files_dir_; }

 private:
  std::filesystem::path spool_dir_;
  std::filesystem::path incoming_dir_;
  std::filesystem::path files_dir_;
  std::int64_t min_free_bytes_;
  SpoolQueue& queue_;
};

}  // namespace hokan::relay
