#include "archive/common/failpoint.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
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

}  // namespace

void Failpoint(std::string_view name) {
  static const std::vector<std::string> active = ActiveFailpoints();
  if (active.empty()) return;
  for (const auto& candidate : active) {
    if (candidate == name) {
      Log(LogLevel::kError, "failpoint {} reached: exiting with status 137", name);
      ::_exit(137);
    }
  }
}

}  // namespace hokan
