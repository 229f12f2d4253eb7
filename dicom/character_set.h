#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hokan::dicom {

// Conversion of DICOM text values (VRs SH, LO, ST, LT, UT, UC and PN) between
// the character set named by Specific Character Set (0008,0005) and UTF-8,
// following PS3.3 C.12.1.1.2 and PS3.5 6.1.
//
// `specific_character_set` is the attribute's value as read from the data
// set: defined terms separated by '\', each trimmed of spaces; an empty value
// or an empty term means the default repertoire (ISO-IR 6). Supported terms:
//   without code extensions: ISO_IR 6 (and empty), ISO_IR 100, 101, 109, 110,
//     126, 127, 138, 144, 148, 166, 13;
//   stand-alone (the only term): ISO_IR 192 (UTF-8), GB18030, GBK;
//   with code extensions: ISO 2022 IR 6, 100, 101, 109, 110, 126, 127, 138,
//     144, 148, 166, 13, 87, 159, 149, 58.
// Escape sequences are accepted when any term is an "ISO 2022" term or there
// is more than one term (an ISO_IR term in a list then acts as its ISO 2022
// counterpart). The first term sets the state at the start of every value and
// after every reset: its G0 set (ISO-IR 6, or JIS X 0201 romaji for IR 13) and
// its G1 set, if any (e.g. Latin-1 for IR 100, katakana for IR 13, KS X 1001
// for IR 149). State resets after a value delimiter '\', after CR, LF, FF and
// TAB, and in person names after the '^' and '=' delimiters.
//
// Both directions accept only the control characters TAB, LF, FF and CR (and
// ESC, as part of an escape sequence, where extensions are allowed); any
// other control character, NUL or DEL makes the value invalid.
//
// Both functions are thread-safe and throw nothing but std::bad_alloc. They
// convert with the C library's iconv (glibc's gconv modules must be
// installed); each calling thread keeps the descriptors it has used (at most
// 30) open until it exits.

// Converts one attribute value in `bytes` (all its values, with their '\'
// delimiters; for a person name all component groups and components) from
// `specific_character_set` to UTF-8. Set `is_person_name` for VR PN, so that
// '^' and '=' reset the code state.
//
// Returns well-formed UTF-8 without NUL, or nullopt when the character set
// is unknown, or the bytes are not valid in it: a byte outside the sets in
// force, a truncated multi-byte character or escape sequence, an escape
// sequence that designates no supported set, an escape sequence where code
// extensions are not allowed, a code a set does not assign. Escape
// sequences for supported sets are honoured even when their term is missing
// from `specific_character_set` (they name their set unambiguously). JIS X
// 0201 romaji is read as ASCII (0x5C is DICOM's delimiter; 0x7E is '~').
// Padding is returned as it is: the caller trims.
std::optional<std::string> DecodeToUtf8(std::string_view bytes,
                                        std::string_view specific_character_set,
                                        bool is_person_name);

// Converts a UTF-8 attribute value to `specific_character_set`, the reverse
// of DecodeToUtf8: DecodeToUtf8(*EncodeFromUtf8(text, s, pn), s, pn) == text.
//
// With code extensions, each character is written in the set already in
// force if it has it, else in the first set, in the order of the terms, that
// has it, designated by its escape sequence; G0 is switched back to the first
// term's G0 before every delimiter, control character and the end of the
// value (as in PS3.5 Annex H and I: "Yamada^Tarou=山田^太郎=やまだ^たろう" in
// "\ISO 2022 IR 87" gives "...=ESC$B;3EDESC(B^..."; Korean in
// "\ISO 2022 IR 149" gives "ESC$)C" and EUC-KR bytes in each component).
//
// Returns nullopt when `utf8` is not well-formed UTF-8, the character set is
// unknown, or some character cannot be expressed in it (the caller then
// answers in ISO_IR 192).
std::optional<std::string> EncodeFromUtf8(std::string_view utf8,
                                          std::string_view specific_character_set,
                                          bool is_person_name);

// `text` with every byte that is not part of a well-formed UTF-8 sequence,
// and every NUL, replaced by U+FFFD, so it can be stored in a UTF-8 database.
std::string ToValidUtf8(std::string_view text);

}  // namespace hokan::dicom
