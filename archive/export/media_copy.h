#pragma once

// The copy step of an offline export: stored files, read through the file
// store, written under their media names (export_schedule.h MediaLayout)
// into a local folder, byte-identical.

#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "archive/index/export_index.h"
#include "archive/storage/file_store.h"

namespace hokan::archive {

// What went where, for the instances of `due` in order.
struct MediaCopy {
  std::vector<std::string> file_ids;                    // '/'-separated, below the folder
  std::map<std::string, std::size_t> instance_of_file;  // file id -> index in `due`
  std::vector<std::string> study_folder_of;             // per instance: "DICOM/ST000001"
};

// Copies each instance of `due` from `files` to <folder>/<file id> (folders
// created; not synced). Throws hokan::Error(kStorage) naming the instance and
// the stored file when one cannot be copied (what was copied stays).
MediaCopy CopyToMedia(const FileStore& files, const std::vector<ExportSourceInstance>& due,
                      const std::filesystem::path& folder);

// Per study (in the order of `due`): the instances and bytes that went to
// the media, leaving out the indexes in `refused`; adds the same to
// `record`'s instance and byte totals.
std::vector<ExportedStudy> SummarizeStudies(const std::vector<ExportSourceInstance>& due,
                                            const MediaCopy& copy,
                                            const std::set<std::size_t>& refused,
                                            OfflineExportRecord& record);

}  // namespace hokan::archive
