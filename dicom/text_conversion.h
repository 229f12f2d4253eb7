#pragma once

// Byte-level text checks and iconv conversion for dicom/character_set.cc:
// well-formed UTF-8, DICOM's text control characters, one iconv descriptor.

#include <iconv.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hokan::dicom::text {

// TAB, LF, FF or CR: the control characters DICOM text values may hold.
bool IsTextControl(unsigned char b);

// low <= b <= high.
bool ByteInRange(unsigned char b, unsigned char low, unsigned char high);

// Length of the well-formed UTF-8 sequence at text[i], 0 if there is none.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

// Whether `text` is well-formed UTF-8 whose only control characters are
// TAB, LF, FF and CR.
bool IsValidText(std::string_view text);

// Whether `bytes` are printable ASCII and text controls only.
bool IsPlainAscii(std::string_view bytes);

// One iconv conversion descriptor.
class Iconv {
 public:
  Iconv(const char* to, const char* from) : cd_(iconv_open(to, from)) {}
  ~Iconv() {
    if (cd_ != kInvalid) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  // nullopt when the descriptor could not be opened or any input is
  // invalid, incomplete or converted irreversibly.
  std::optional<std::string> Convert(std::string_view in);

 private:
  static inline const iconv_t kInvalid = reinterpret_cast<iconv_t>(-1);
  iconv_t cd_;
};

}  // namespace hokan::dicom::text
