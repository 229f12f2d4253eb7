#include "archive/common/byte_count.h"

#include <cctype>
#include <limits>
#include <string>

namespace hokan {

std::optional<std::int64_t> ParseByteCount(std::string_view text) {
  static const std::string kSuffixes = "KMGT";
  std::string_view digits = text;
  int shift = 0;
  if (!digits.empty()) {
    const auto suffix = kSuffixes.find(static_cast<char>(
        std::toupper(static_cast<unsigned char>(digits.back()))));
    if (suffix != std::string::npos) {
      shift = 10 * static_cast<int>(suffix + 1);
      digits.remove_suffix(1);
    }
  }
  if (digits.empty() || digits.size() > 19 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const unsigned long long amount = std::stoull(std::string(digits));
  if (amount >
      (static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max()) >> shift)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(amount << shift);
}

}  // namespace hokan
