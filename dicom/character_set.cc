#include "dicom/character_set.h"

#include "dicom/text_conversion.h"

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <vector>

namespace hokan::dicom {
namespace {

constexpr unsigned char kEsc = 0x1B;

// A graphic character set that an escape sequence designates to G0 or G1.
enum class Element : unsigned char {
  kNone, kAscii, kJisRoman, kKatakana, kJisX0208, kJisX0212,
  kLatin1, kLatin2, kLatin3, kLatin4, kCyrillic, kArabic, kGreek, kHebrew,
  kLatin5, kThai, kKsX1001, kGb2312, kCount
};

struct ElementInfo {
  std::string_view escape;  // designation, the bytes after ESC
  bool g0;                  // designated to G0 (GL), else to G1 (GR)
  int width;                // bytes per character
  const char* iconv_code;   // the 8-bit form iconv converts; nullptr: done here
};

// Indexed by Element (PS3.3 Tables C.12-3 and C.12-4).
constexpr ElementInfo kElements[] = {
    {"", false, 0, nullptr},         // kNone
    {"(B", true, 1, nullptr},        // kAscii
    {"(J", true, 1, nullptr},        // kJisRoman, read as ASCII
    {")I", false, 1, nullptr},       // kKatakana, U+FF61..U+FF9F
    {"$B", true, 2, "EUC-JP"},       // kJisX0208
    {"$(D", true, 2, "EUC-JP"},      // kJisX0212, EUC-JP after 0x8F
    {"-A", false, 1, "ISO-8859-1"},  // kLatin1
    {"-B", false, 1, "ISO-8859-2"},  // kLatin2
    {"-C", false, 1, "ISO-8859-3"},  // kLatin3
    {"-D", false, 1, "ISO-8859-4"},  // kLatin4
    {"-L", false, 1, "ISO-8859-5"},  // kCyrillic
    {"-G", false, 1, "ISO-8859-6"},  // kArabic
    {"-F", false, 1, "ISO-8859-7"},  // kGreek
    {"-H", false, 1, "ISO-8859-8"},  // kHebrew
    {"-M", false, 1, "ISO-8859-9"},  // kLatin5
    {"-T", false, 1, "TIS-620"},     // kThai
    {"$)C", false, 2, "EUC-KR"},     // kKsX1001
    {"$)A", false, 2, "GB2312"},     // kGb2312
};
static_assert(std::size(kElements) == static_cast<std::size_t>(Element::kCount));

const ElementInfo& Info(Element e) { return kElements[static_cast<std::size_t>(e)]; }

// A defined term "ISO 2022 IR <ir>" and, if `plain_form`, "ISO_IR <ir>".
struct Term {
  std::string_view ir;
  Element g0;
  Element g1;
  bool plain_form;
};

constexpr Term kTerms[] = {
    {"6", Element::kAscii, Element::kNone, true},
    {"100", Element::kAscii, Element::kLatin1, true},
    {"101", Element::kAscii, Element::kLatin2, true},
    {"109", Element::kAscii, Element::kLatin3, true},
    {"110", Element::kAscii, Element::kLatin4, true},
    {"144", Element::kAscii, Element::kCyrillic, true},
    {"127", Element::kAscii, Element::kArabic, true},
    {"126", Element::kAscii, Element::kGreek, true},
    {"138", Element::kAscii, Element::kHebrew, true},
    {"148", Element::kAscii, Element::kLatin5, true},
    {"166", Element::kAscii, Element::kThai, true},
    {"13", Element::kJisRoman, Element::kKatakana, true},
    {"87", Element::kJisX0208, Element::kNone, false},
    {"159", Element::kJisX0212, Element::kNone, false},
    {"149", Element::kNone, Element::kKsX1001, false},
    {"58", Element::kNone, Element::kGb2312, false},
};

// The term `name`, or nullptr; `iso_2022` tells which form it is in.
const Term* FindTerm(std::string_view name, bool& iso_2022) {
  constexpr std::string_view kPlain = "ISO_IR ", kIso2022 = "ISO 2022 IR ";
  iso_2022 = name.substr(0, kIso2022.size()) == kIso2022;
  if (!iso_2022 && name.substr(0, kPlain.size()) != kPlain) return nullptr;
  const std::string_view ir = name.substr(iso_2022 ? kIso2022.size() : kPlain.size());
  for (const Term& term : kTerms) {
    if (term.ir == ir && (iso_2022 || term.plain_form)) return &term;
  }
  return nullptr;
}

// Terms whose encoding cannot be combined with others; iconv converts them.
struct StandAloneTerm {
  std::string_view name;
  const char* iconv_code;
};
constexpr StandAloneTerm kStandAloneTerms[] = {
    {"ISO_IR 192", "UTF-8"}, {"GB18030", "GB18030"}, {"GBK", "GBK"}};

struct State {
  Element g0 = Element::kAscii;
  Element g1 = Element::kNone;
};

struct CharacterSet {
  const char* stand_alone = nullptr;  // iconv code of a stand-alone term
  bool extensions = false;            // escape sequences allowed
  State initial;
  std::vector<Element> elements;  // designatable sets, in the order of the terms
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::optional<CharacterSet> ParseCharacterSet(std::string_view value) {
  std::vector<std::string_view> names;
  for (std::size_t start = 0;;) {
    const std::size_t end = value.find('\\', start);
    names.push_back(Trim(value.substr(start, end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  CharacterSet set;
  for (const StandAloneTerm& term : kStandAloneTerms) {
    if (names[0] == term.name) set.stand_alone = term.iconv_code;
  }
  if (set.stand_alone) {
    if (names.size() != 1) return std::nullopt;
    return set;
  }
  set.extensions = names.size() > 1;
  for (std::size_t i = 0; i < names.size(); ++i) {
    Term found = kTerms[0];  // an empty term: ISO-IR 6
    if (!names[i].empty()) {
      bool iso_2022 = false;
      const Term* term = FindTerm(names[i], iso_2022);
      if (term == nullptr) return std::nullopt;
      found = *term;
      set.extensions = set.extensions || iso_2022;
    }
    if (i == 0) {
      if (found.g0 != Element::kNone && Info(found.g0).width == 1) set.initial.g0 = found.g0;
      set.initial.g1 = found.g1;
    }
    for (Element e : {found.g0, found.g1}) {
      if (e != Element::kNone) set.elements.push_back(e);
    }
  }
  return set;
}

bool IsDelimiter(unsigned char b, bool is_person_name) {
  return b == '\\' || (is_person_name && (b == '^' || b == '='));
}

using text::ByteInRange;
using text::Iconv;
using text::IsPlainAscii;
using text::IsTextControl;
using text::IsValidText;
using text::Utf8SequenceLength;

// The calling thread's iconv descriptors, opened on first use and kept open:
// glibc unloads a gconv module once no descriptor uses it, and reloading it
// (dlopen, mmap) costs hundreds of times more than a conversion.
class Converters {
 public:
  static Converters& OfThisThread() {
    thread_local Converters converters;
    return converters;
  }

  std::optional<std::string> Convert(std::string_view to, std::string_view from,
                                     std::string_view in) {
    for (const Entry& entry : entries_) {  // at most 2 per iconv code
      if (entry.to == to && entry.from == from) return entry.iconv->Convert(in);
    }
    entries_.push_back({to, from, std::make_unique<Iconv>(to.data(), from.data())});
    return entries_.back().iconv->Convert(in);
  }
  std::optional<std::string> ToUtf8(Element e, std::string_view in) {
    if (Info(e).iconv_code == nullptr) return std::nullopt;
    return Convert("UTF-8", Info(e).iconv_code, in);
  }
  std::optional<std::string> FromUtf8(Element e, std::string_view in) {
    if (Info(e).iconv_code == nullptr) return std::nullopt;
    return Convert(Info(e).iconv_code, "UTF-8", in);
  }

 private:
  struct Entry {
    std::string_view to, from;  // NUL-terminated literals from the tables
    std::unique_ptr<Iconv> iconv;
  };
  std::vector<Entry> entries_;
};

// The set an escape sequence at bytes[i] (ESC) designates, and its length.
std::optional<std::pair<Element, std::size_t>> ParseEscape(std::string_view bytes, std::size_t i) {
  std::size_t end = i + 1;  // ESC, intermediate bytes 02/00-02/15, final byte
  while (end < bytes.size() && ByteInRange(static_cast<unsigned char>(bytes[end]), 0x20, 0x2F)) ++end;
  if (end >= bytes.size() || !ByteInRange(static_cast<unsigned char>(bytes[end]), 0x30, 0x7E)) {
    return std::nullopt;
  }
  const std::string_view escape = bytes.substr(i + 1, end - i);
  for (std::size_t e = 1; e < std::size(kElements); ++e) {
    if (kElements[e].escape == escape) return std::make_pair(static_cast<Element>(e), end - i + 1);
  }
  return std::nullopt;
}

// Decodes with the ISO 2022 state machine of PS3.5 6.1.2.5.
class Decoder {
 public:
  Decoder(const CharacterSet& set, bool is_person_name)
      : set_(set), is_person_name_(is_person_name) {}

  std::optional<std::string> Decode(std::string_view bytes) {
    State state = set_.initial;
    for (std::size_t i = 0; i < bytes.size();) {
      const auto b = static_cast<unsigned char>(bytes[i]);
      const auto next = [&]() -> int {
        return i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[i + 1]) : -1;
      };
      if (b == kEsc) {
        const auto escape = set_.extensions ? ParseEscape(bytes, i) : std::nullopt;
        if (!escape) return std::nullopt;
        (Info(escape->first).g0 ? state.g0 : state.g1) = escape->first;
        i += escape->second;
      } else if (b < 0x20 || b == 0x7F) {
        if (!IsTextControl(b) || !Plain(b)) return std::nullopt;
        state = set_.initial;
        ++i;
      } else if (b < 0x80 && (b == 0x20 || Info(state.g0).width == 1)) {
        if (!Plain(b)) return std::nullopt;
        if (b != 0x20 && IsDelimiter(b, is_person_name_)) state = set_.initial;
        ++i;
      } else if (b < 0x80) {  // a two-byte G0 set: JIS X 0208 or JIS X 0212
        const int b2 = next();
        if (!ByteInRange(b, 0x21, 0x7E) || b2 < 0x21 || b2 > 0x7E) return std::nullopt;
        if (state.g0 == Element::kJisX0212 && !Pending(state.g0, "\x8F")) return std::nullopt;
        const char pair[] = {static_cast<char>(b | 0x80), static_cast<char>(b2 | 0x80)};
        if (!Pending(state.g0, std::string_view(pair, 2))) return std::nullopt;
        i += 2;
      } else if (state.g1 == Element::kKatakana) {
        if (!ByteInRange(b, 0xA1, 0xDF) || !Flush()) return std::nullopt;
        const char32_t cp = 0xFF61 + (b - 0xA1);  // half-width, EF BD A1 .. EF BE 9F
        out_ += {'\xEF', static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                 static_cast<char>(0x80 | (cp & 0x3F))};
        ++i;
      } else if (state.g1 == Element::kNone || b < 0xA0) {  // C1 or no G1 set
        return std::nullopt;
      } else if (Info(state.g1).width == 1) {
        if (!Pending(state.g1, bytes.substr(i, 1))) return std::nullopt;
        ++i;
      } else {  // a two-byte G1 set: KS X 1001 or GB 2312
        const int b2 = next();
        if (!ByteInRange(b, 0xA1, 0xFE) || b2 < 0xA1 || b2 > 0xFE) return std::nullopt;
        if (!Pending(state.g1, bytes.substr(i, 2))) return std::nullopt;
        i += 2;
      }
    }
    if (!Flush()) return std::nullopt;
    return std::move(out_);
  }

 private:
  // Appends a byte that is the same in UTF-8.
  bool Plain(unsigned char b) {
    if (!Flush()) return false;
    out_ += static_cast<char>(b);
    return true;
  }
  // Queues bytes in the 8-bit form of `e` for one iconv call per run.
  bool Pending(Element e, std::string_view bytes) {
    if (e != pending_element_ && !Flush()) return false;
    pending_element_ = e;
    pending_ += bytes;
    return true;
  }
  bool Flush() {
    if (pending_.empty()) return true;
    const auto text = converters_.ToUtf8(pending_element_, pending_);
    pending_.clear();
    if (!text) return false;
    out_ += *text;
    return true;
  }

  const CharacterSet& set_;
  const bool is_person_name_;
  Converters& converters_ = Converters::OfThisThread();
  std::string out_;
  std::string pending_;
  Element pending_element_ = Element::kNone;
};

// `character` (one UTF-8 sequence, not ASCII) in the bytes `e` gives it
// within an ISO 2022 stream, or nullopt if `e` lacks it.
std::optional<std::string> EncodeCharacter(Element e, std::string_view character,
                                           Converters& converters) {
  const auto byte = [](const std::string& s, std::size_t k) {
    return static_cast<unsigned char>(s[k]);
  };
  if (e == Element::kKatakana) {  // U+FF61..U+FF9F, EF BD A1 .. EF BE 9F
    if (character.size() != 3) return std::nullopt;
    const char32_t cp =
        ((character[0] & 0x0F) << 12) | ((character[1] & 0x3F) << 6) | (character[2] & 0x3F);
    if (cp < 0xFF61 || cp > 0xFF9F) return std::nullopt;
    return std::string(1, static_cast<char>(0xA1 + (cp - 0xFF61)));
  }
  if (Info(e).iconv_code == nullptr) return std::nullopt;
  auto encoded = converters.FromUtf8(e, character);
  // iconv maps some characters to look-alikes (U+20A9 WON SIGN to KS X
  // 1001's FULLWIDTH WON SIGN): only exact round trips count.
  if (!encoded || converters.ToUtf8(e, *encoded) != character) return std::nullopt;
  std::string& s = *encoded;
  if (Info(e).width == 1) {
    if (s.size() != 1 || byte(s, 0) < 0xA0) return std::nullopt;
    return encoded;
  }
  if (e == Element::kJisX0212) {
    if (s.size() != 3 || byte(s, 0) != 0x8F) return std::nullopt;
    s.erase(0, 1);
  }
  if (s.size() != 2 || !ByteInRange(byte(s, 0), 0xA1, 0xFE) || !ByteInRange(byte(s, 1), 0xA1, 0xFE)) {
    return std::nullopt;
  }
  if (Info(e).g0) {  // JIS X 0208 and 0212 are used in GL
    for (char& c : s) c = static_cast<char>(c & 0x7F);
  }
  return encoded;
}

std::optional<std::string> EncodeIso2022(std::string_view utf8, const CharacterSet& set,
                                         bool is_person_name) {
  Converters& converters = Converters::OfThisThread();
  std::string out;
  State state = set.initial;
  const auto designate = [&](Element e) {
    out += static_cast<char>(kEsc);
    out += Info(e).escape;
    (Info(e).g0 ? state.g0 : state.g1) = e;
  };
  const auto restore_g0 = [&] {
    if (state.g0 != set.initial.g0) designate(set.initial.g0);
  };
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t length = Utf8SequenceLength(utf8, i);
    if (length == 0) return std::nullopt;
    const std::string_view character = utf8.substr(i, length);
    i += length;
    if (length == 1) {
      const auto b = static_cast<unsigned char>(character[0]);
      if ((b < 0x20 || b == 0x7F) && !IsTextControl(b)) return std::nullopt;
      restore_g0();
      out += character;
      if (b < 0x20 || IsDelimiter(b, is_person_name)) state = set.initial;
      continue;
    }
    std::optional<std::string> encoded;
    if (Info(state.g0).width == 2) encoded = EncodeCharacter(state.g0, character, converters);
    if (!encoded && state.g1 != Element::kNone) {
      encoded = EncodeCharacter(state.g1, character, converters);
    }
    for (std::size_t k = 0; !encoded && set.extensions && k < set.elements.size(); ++k) {
      encoded = EncodeCharacter(set.elements[k], character, converters);
      if (encoded) designate(set.elements[k]);
    }
    if (!encoded) return std::nullopt;
    out += *encoded;
  }
  restore_g0();
  return out;
}

}  // namespace

std::optional<std::string> DecodeToUtf8(std::string_view bytes,
                                        std::string_view specific_character_set,
                                        bool is_person_name) {
  const auto set = ParseCharacterSet(specific_character_set);
  if (!set) return std::nullopt;
  if (IsPlainAscii(bytes)) return std::string(bytes);  // the common case
  if (set->stand_alone) {  // control characters are the same in UTF-8
    if (std::string_view(set->stand_alone) == "UTF-8") {
      if (!IsValidText(bytes)) return std::nullopt;
      return std::string(bytes);
    }
    auto text = Converters::OfThisThread().Convert("UTF-8", set->stand_alone, bytes);
    if (!text || !IsValidText(*text)) return std::nullopt;
    return text;
  }
  return Decoder(*set, is_person_name).Decode(bytes);
}

std::optional<std::string> EncodeFromUtf8(std::string_view utf8,
                                          std::string_view specific_character_set,
                                          bool is_person_name) {
  const auto set = ParseCharacterSet(specific_character_set);
  if (!set) return std::nullopt;
  if (set->stand_alone) {
    if (!IsValidText(utf8)) return std::nullopt;
    if (std::string_view(set->stand_alone) == "UTF-8") return std::string(utf8);
    Converters& converters = Converters::OfThisThread();
    auto encoded = converters.Convert(set->stand_alone, "UTF-8", utf8);
    // glibc's GBK drops U+E0000..U+E007F: only exact round trips count.
    if (!encoded || converters.Convert("UTF-8", set->stand_alone, *encoded) != utf8) {
      return std::nullopt;
    }
    return encoded;
  }
  return EncodeIso2022(utf8, *set, is_person_name);
}

std::string ToValidUtf8(std::string_view text) {
  std::string valid;
  valid.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0 || (length == 1 && text[i] == '\0')) {
      valid += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      valid.append(text.substr(i, length));
      i += length;
    }
  }
  return valid;
}

}  // namespace hokan::dicom
