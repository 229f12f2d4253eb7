#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "scu/spool_store.h"

namespace hokan::relay {

// What one pass over the import folder did.
struct ImportPass {
  int spooled = 0;   // copied into the spool, queued, removed from the folder
  int rejected = 0;  // not DICOM: moved to rejected/ with a .reason file
  int deferred = 0;  // left in place (spool full or unwritable): tried again next pass
};

// Import mode: DICOM files dropped into `folder` (not its subfolders) are
// spooled like received ones (source "import"), then removed from the
// folder. A file that is not a readable DICOM data set is moved to
// <folder>/rejected/ next to a <name>.reason text file saying why. Files
// whose names start with '.' or end with ".part" or ".tmp" are skipped, so a
// writer can create a file under such a name and rename it when complete.
// When the spool is full the file stays and is tried again on the next pass.
class FolderImport {
 public:
  // `spooled` (optional) is called after each spooled file.
  FolderImport(std::filesystem::path folder, SpoolStore& store, std::function<void()> spooled);
  ~FolderImport();  // Stop()s
  FolderImport(const FolderImport&) = delete;
  FolderImport& operator=(const FolderImport&) = delete;

  // One pass now. Never throws (problems are logged and counted as deferred).
  ImportPass RunOnce();

  // Runs a pass every `interval` on a thread until Stop(). Both idempotent.
  void Start(std::chrono::seconds interval);
  void Stop();

 private:
  std::filesystem::path folder_;
  std::filesystem::path rejected_;
  SpoolStore& store_;
  std::function<void()> spooled_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hokan::relay
