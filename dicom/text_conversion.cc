#include "dicom/text_conversion.h"

#include <cerrno>

namespace hokan::dicom::text {

bool IsTextControl(unsigned char b) { return b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D; }

bool ByteInRange(unsigned char b, unsigned char low, unsigned char high) {
  return b >= low && b <= high;
}

// Length of the well-formed UTF-8 sequence at text[i], 0 if there is none.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (ByteInRange(lead, 0xC2, 0xDF)) length = 2;
  else if (lead == 0xE0) { length = 3; low = 0xA0; }
  else if (ByteInRange(lead, 0xE1, 0xEC) || ByteInRange(lead, 0xEE, 0xEF)) length = 3;
  else if (lead == 0xED) { length = 3; high = 0x9F; }
  else if (lead == 0xF0) { length = 4; low = 0x90; }
  else if (ByteInRange(lead, 0xF1, 0xF3)) length = 4;
  else if (lead == 0xF4) { length = 4; high = 0x8F; }
  else return 0;
  if (length > text.size() - i || !ByteInRange(byte(i + 1), low, high)) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (!ByteInRange(byte(i + k), 0x80, 0xBF)) return 0;
  }
  return length;
}

// Whether `text` is well-formed UTF-8 whose only control characters are
// TAB, LF, FF and CR.
bool IsValidText(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    const auto b = static_cast<unsigned char>(text[i]);
    if (length == 1 && (b < 0x20 || b == 0x7F) && !IsTextControl(b)) return false;
    i += length;
  }
  return true;
}

// Whether `bytes` are printable ASCII and text controls only.
bool IsPlainAscii(std::string_view bytes) {
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (!ByteInRange(b, 0x20, 0x7E) && !IsTextControl(b)) return false;
  }
  return true;
}

std::optional<std::string> Iconv::Convert(std::string_view in) {
  if (cd_ == kInvalid) return std::nullopt;
  iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // initial shift state
  std::string out(in.size() * 4 + 16, '\0');
  std::size_t used = 0;
  char* in_ptr = const_cast<char*>(in.data());  // iconv does not write it
  std::size_t in_left = in.size();
  // Converts the input (flush: writes the final shift sequence), growing
  // `out` as needed; false on any error or irreversible conversion.
  const auto run = [&](bool flush) {
    for (;;) {
      char* out_ptr = out.data() + used;
      std::size_t out_left = out.size() - used;
      const std::size_t result = flush ? iconv(cd_, nullptr, nullptr, &out_ptr, &out_left)
                                       : iconv(cd_, &in_ptr, &in_left, &out_ptr, &out_left);
      const int error = errno;
      used = static_cast<std::size_t>(out_ptr - out.data());
      if (result != static_cast<std::size_t>(-1)) return result == 0;
      if (error != E2BIG) return false;
      out.resize(out.size() * 2);
    }
  };
  if (!run(false) || !run(true)) return std::nullopt;
  out.resize(used);
  return out;
}

}  // namespace hokan::dicom::text
