#pragma once

// The deluxe offline export: copies a facility's studies received since its
// previous export into a media folder with a DICOMDIR, and records it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "archive/common/clock.h"
#include "archive/index/export_index.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// Writes the DICOMDIR of a folder whose files are already in place (the
// DICOM edge implements it with DCMTK: dicom/dicomdir_writer.h).
class FileSetWriter {
 public:
  virtual ~FileSetWriter() = default;

  // Creates <folder>/DICOMDIR with file-set ID `file_set_id`, referencing
  // each of `file_ids` ('/'-separated, relative to `folder`). Returns the
  // files the media profile refused, with the reason (they are not
  // referenced). Throws hokan::Error(kStorage) when DICOMDIR cannot be
  // written, hokan::Error(kConfiguration) without a data dictionary.
  virtual std::vector<std::pair<std::string, std::string>> Write(
      const std::filesystem::path& folder, const std::string& file_set_id,
      const std::vector<std::string>& file_ids) = 0;
};

// What one export run did.
struct ExportOutcome {
  enum class Kind {
    kWritten,          // a new folder was written and recorded
    kAlreadyRecorded,  // this facility and cut-off were exported before (a rerun)
    kNothingNew,       // no study received since the previous cut-off: nothing written
  };
  Kind kind = Kind::kNothingNew;
  std::optional<OfflineExportRecord> record;  // kWritten, kAlreadyRecorded
  std::optional<TimePoint> previous_cut_off;  // kNothingNew: the one compared with
  // kWritten: the instances the profile refused, "<SOP Instance UID>: reason".
  std::vector<std::string> refused;
};

struct ExportRunSettings {
  std::string actor;  // "hokan-archive@<node>" or the operator
  std::string node;   // offline_exports.node
};

// Thread-compatible: one export at a time per service (the job runner and
// the `hokan export` command each own one). Two nodes exporting the same
// facility at once cannot both record (ExportIndex::Record refuses the
// second, whose folder is then removed).
class OfflineExportService {
 public:
  // All must outlive the service. Stored files are read through `files`;
  // `export_root` (a local folder) gets <facility name>/<cut-off>/.
  OfflineExportService(ExportIndex& index, FileSetWriter& writer, const FileStore& files,
                       std::filesystem::path export_root);

  // Exports the studies of `facility_id` with previous cut-off <
  // last_received_at <= cut_off into <export_root>/<facility>/<YYYYMMDDT
  // HHMMSSZ of cut_off> ("-2", "-3"... appended when a recorded export of
  // the same second holds the name): written into "<that>.partial" (a
  // leftover of an interrupted run, and an unrecorded final folder, are
  // removed first), synced, renamed, then recorded with its studies and an
  // audit row "export.write" in one transaction. A cut-off already recorded
  // returns that record; one not after the previous cut-off, or no due
  // study, writes and records nothing (kNothingNew).
  // Throws hokan::Error(kInvalidInput) when the facility is unknown or its
  // current contract (at Now()) is not deluxe — nothing written;
  // hokan::Error(kStorage) for file trouble (the .partial folder is left
  // for the next run to remove); hokan::Error(kDatabase) for PostgreSQL, and
  // when another export of the facility was recorded meanwhile (this one's
  // folder is then removed; running again exports the rest).
  ExportOutcome Run(std::int64_t facility_id, TimePoint cut_off, const ExportRunSettings& settings);

 private:
  // Where this export goes: <facility folder>/<name> and its ".partial".
  struct Folders {
    std::filesystem::path facility;
    std::filesystem::path final_folder;
    std::filesystem::path partial;
  };

  ExportContract RequireDeluxe(std::int64_t facility_id, TimePoint now);
  Folders ChooseFolders(std::int64_t facility_id, const std::string& facility_name,
                        TimePoint cut_off);
  std::set<std::size_t> LeaveOutRefused(const Folders& folders, TimePoint cut_off,
                                        const std::vector<ExportSourceInstance>& due,
                                        const std::vector<std::string>& file_ids,
                                        const std::map<std::string, std::size_t>& instance_of_file,
                                        ExportOutcome& outcome);
  void RecordExport(OfflineExportRecord& record, const std::vector<ExportedStudy>& studies,
                    const ExportOutcome& outcome, const std::optional<TimePoint>& previous);

  ExportIndex& index_;
  FileSetWriter& writer_;
  const FileStore& files_;
  std::filesystem::path export_root_;
};

}  // namespace hokan::archive
