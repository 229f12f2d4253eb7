#include "archive/common/failpoint.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "archive/common/log.h"

namespace hokan {
namespace {

std::vector<std::string> ActiveFailpoints() {
  std::vector<std::string> names;
  const char* value = std::getenv("HOKAN_FAILPOINTS");
  if (value == nullptr) return names;
  std::string text = value;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string name = text.substr(start, comma - start);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (!name.empty()) names.push_back(name);
    start = comma + 1;
  }
  return names;
}

// "<name>=pause": announces <name>.reached in $HOKAN_FAILPOINT_DIR, then
// waits there until <name>.release appears (at most 5 minutes).
void Pause(std::string_view name) {
  const char* folder = std::getenv("HOKAN_FAILPOINT_DIR");
  const std::filesystem::path dir = folder ? folder : ".";
  const std::string base(name);
  Log(LogLevel::kInfo, "failpoint {} reached: pausing", name);
  std::ofstream(dir / (base + ".reached")) << "reached\n";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  std::error_code error;
  while (!std::filesystem::exists(dir / (base + ".release"), error) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

void Failpoint(std::string_view name) {
  static const std::vector<std::string> active = ActiveFailpoints();
  if (active.empty()) return;
  for (const auto& candidate : active) {
    if (candidate.size() == name.size() + 6 && candidate.compare(0, name.size(), name) == 0 &&
        candidate.compare(name.size(), 6, "=pause") == 0) {
      Pause(name);
      return;
    }
    if (candidate == name) {
      Log(LogLevel::kError, "failpoint {} reached: exiting with status 137", name);
      ::_exit(137);
    }
  }
}

}  // namespace hokan
