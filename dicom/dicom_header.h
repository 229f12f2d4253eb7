#pragma once

#include <filesystem>
#include <string>

#include "archive/model/instance_attributes.h"

namespace hokan::dicom {

// What ReadInstanceHeader found.
struct HeaderReadResult {
  bool ok = false;
  std::string error;  // why the header could not be read, when !ok
  std::string character_set_warning;  // set when text could not be converted to UTF-8
  archive::InstanceAttributes attributes;
};

// Reads the file meta header and the structure of the data set of a DICOM
// Part-10 file (values over 4 KB, such as pixel data, are skipped, never
// decoded; a data set shorter than its elements declare is an error) and
// returns the indexed attributes, with
// text converted to UTF-8 from the data set's Specific Character Set. When
// conversion is impossible, bytes that are not UTF-8 become U+FFFD and a
// warning is set (the stored file keeps the original bytes).
// Never throws.
HeaderReadResult ReadInstanceHeader(const std::filesystem::path& file);

}  // namespace hokan::dicom
