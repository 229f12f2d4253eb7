#include "scu/folder_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::relay {
namespace fs = std::filesystem;
namespace {

bool Skipped(const std::string& name) {
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return name.empty() || name.front() == '.' || ends_with(".part") || ends_with(".tmp") ||
         ends_with(".reason");
}

}  // namespace

FolderImport::FolderImport(fs::path folder, SpoolStore& store, std::function<void()> spooled)
    : folder_(fs::absolute(std::move(folder))), rejected_(folder_ / "rejected"), store_(store),
      spooled_(std::move(spooled)) {
  std::error_code error;
  fs::create_directories(rejected_, error);
  if (error) {
    throw Error(ErrorCode::kStorage, fmt::format("import folder {}: cannot create {}: {}",
                                                 folder_.string(), rejected_.string(),
                                                 error.message()));
  }
}

FolderImport::~FolderImport() { Stop(); }

ImportPass FolderImport::RunOnce() {
  ImportPass pass;
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder_, error)) {
    std::error_code type_error;
    if (!entry.is_regular_file(type_error)) continue;
    if (Skipped(entry.path().filename().string())) continue;
    files.push_back(entry.path());
  }
  if (error) {
    Log(LogLevel::kError, "import folder {}: cannot list: {}", folder_.string(), error.message());
    return pass;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const SpoolResult result = store_.SpoolCopy(file, "import");
    switch (result.status) {
      case SpoolStatus::kSpooled: {
        std::error_code remove_error;
        fs::remove(file, remove_error);
        if (remove_error) {
          Log(LogLevel::kError, "import: {} spooled but not removed: {}", file.string(),
              remove_error.message());
        }
        ++pass.spooled;
        if (spooled_) spooled_();
        break;
      }
      case SpoolStatus::kInvalid: {
        const fs::path target = rejected_ / file.filename();
        std::error_code move_error;
        fs::rename(file, target, move_error);
        std::ofstream reason(rejected_ / (file.filename().string() + ".reason"));
        reason << result.message << "\n";
        Log(LogLevel::kWarn, "import: {} rejected (moved to {}): {}", file.string(),
            rejected_.string(), result.message);
        if (move_error) {
          Log(LogLevel::kError, "import: cannot move {} to {}: {}", file.string(),
              target.string(), move_error.message());
        }
        ++pass.rejected;
        break;
      }
      case SpoolStatus::kOutOfSpace:
        Log(LogLevel::kWarn, "import: {} left in the folder: {}", file.string(), result.message);
        ++pass.deferred;
        break;
    }
  }
  if (pass.spooled + pass.rejected > 0) {
    Log(LogLevel::kInfo, "import: {} file(s) spooled, {} rejected, {} deferred", pass.spooled,
        pass.rejected, pass.deferred);
  }
  return pass;
}

void FolderImport::Start(std::chrono::seconds interval) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        RunOnce();
      } catch (const std::exception& error) {
        Log(LogLevel::kError, "import folder {}: {}", folder_.string(), error.what());
      }
      lock.lock();
      wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

void FolderImport::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hokan::relay
