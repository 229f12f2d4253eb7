#pragma once

// Pure rules of the deluxe offline export (no database, no files): when a
// facility's daily export is due, how its job is named and carried, what
// the media folder and the file IDs inside it are called.

#include <cstdint>
#include <optional>
#include <string>

#include "archive/common/clock.h"
#include "archive/model/export_cut_off.h"

namespace hokan::archive {

// The job kind of an offline export.
inline constexpr const char* kOfflineExportJobKind = "offline-export";

// How long after a day's export_at the export starts, so that stores in
// flight at export_at have committed before the export reads the index.
inline constexpr std::chrono::seconds kExportSettleTime{60};

// One day's export of one facility.
struct DueExport {
  TimePoint cut_off;       // that day's export_at (UTC): studies received up to it
  std::string dedupe_key;  // "offline-export:<facility id>:<YYYY-MM-DD>"
};

// The export of `facility_id` for the UTC date of `now`, when `now` is at
// least kExportSettleTime past that day's `export_at` ("HH:MM" or
// "HH:MM:SS", UTC, as PostgreSQL prints a time); nullopt before that.
// Throws hokan::Error(kInvalidInput) when export_at does not parse.
std::optional<DueExport> DueExportFor(std::int64_t facility_id, const std::string& export_at,
                                      TimePoint now);

// The job payload, {"facility_id": N, "cut_off": "<FormatCutOff>"}, and
// back. Parsing accepts any key order and spacing (jsonb reorders keys);
// throws hokan::Error(kInvalidInput) naming what is missing.
struct ExportRequest {
  std::int64_t facility_id = 0;
  TimePoint cut_off;
};
std::string ExportPayload(const ExportRequest& request);
ExportRequest ParseExportPayload(const std::string& payload);

// The media folder's name for a cut-off: "20261122T020000Z" (whole seconds).
std::string ExportFolderName(TimePoint cut_off);

// Names files on the media the IHE way, ISO 9660 file IDs (uppercase,
// digits, at most 8 characters per component): DICOM/ST000001/SE000001/
// IM000001. Feed instances grouped by study, then series; each new study
// or series opens the next folder. Throws hokan::Error(kInvalidInput) past
// 999999 studies, series of a study, or instances of a series.
class MediaLayout {
 public:
  // The file ID of the next instance ('/'-separated, relative to the
  // folder holding DICOMDIR).
  std::string Next(const std::string& study_instance_uid, const std::string& series_instance_uid);
  // The folder of the current study, "DICOM/ST000001"; "" before Next().
  std::string StudyFolder() const;

 private:
  std::string study_uid_;
  std::string series_uid_;
  int study_ = 0;
  int series_ = 0;
  int instance_ = 0;
};

}  // namespace hokan::archive
