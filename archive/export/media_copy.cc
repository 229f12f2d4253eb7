#include "archive/export/media_copy.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/export/export_schedule.h"

namespace hokan::archive {
namespace fs = std::filesystem;

MediaCopy CopyToMedia(const FileStore& files, const std::vector<ExportSourceInstance>& due,
                      const fs::path& folder) {
  MediaLayout layout;
  MediaCopy copy;
  copy.study_folder_of.resize(due.size());
  for (std::size_t i = 0; i < due.size(); ++i) {
    const auto& instance = due[i];
    const std::string file_id =
        layout.Next(instance.study_instance_uid, instance.series_instance_uid);
    copy.study_folder_of[i] = layout.StudyFolder();
    const fs::path target = folder / file_id;
    std::error_code error;
    fs::create_directories(target.parent_path(), error);
    if (error) {
      throw Error(ErrorCode::kStorage,
                  fmt::format("offline export: creating {} failed: {}",
                              target.parent_path().string(), error.message()));
    }
    try {
      files.CopyOut(instance.relative_path, target);
    } catch (const Error& failure) {
      throw Error(failure.code(), fmt::format("offline export: instance {}: {}",
                                              instance.sop_instance_uid, failure.what()));
    }
    copy.file_ids.push_back(file_id);
    copy.instance_of_file[file_id] = i;
  }
  return copy;
}

std::vector<ExportedStudy> SummarizeStudies(const std::vector<ExportSourceInstance>& due,
                                            const MediaCopy& copy,
                                            const std::set<std::size_t>& refused,
                                            OfflineExportRecord& record) {
  std::vector<ExportedStudy> studies;
  for (std::size_t i = 0; i < due.size(); ++i) {
    if (studies.empty() || studies.back().study_instance_uid != due[i].study_instance_uid) {
      studies.push_back(ExportedStudy{due[i].study_instance_uid, copy.study_folder_of[i], 0, 0,
                                      due[i].study_last_received_at});
    }
    if (refused.count(i)) continue;
    studies.back().instances += 1;
    studies.back().bytes += due[i].size_bytes;
    record.instances += 1;
    record.bytes += due[i].size_bytes;
  }
  return studies;
}

}  // namespace hokan::archive
