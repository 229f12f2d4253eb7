#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hokan {

// A byte count written in decimal, optionally with a suffix K, M, G or T
// (powers of 1024, either case): "1073741824", "500G". nullopt for anything
// else (signs, spaces, fractions) and for values beyond int64.
std::optional<std::int64_t> ParseByteCount(std::string_view text);

}  // namespace hokan
