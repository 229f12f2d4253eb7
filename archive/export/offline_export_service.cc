#include "archive/export/offline_export_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "archive/common/error.h"
#include "archive/common/failpoint.h"
#include "archive/common/log.h"
#include "archive/export/export_schedule.h"

namespace hokan::archive {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void StorageError(const std::string& what, const std::error_code& error) {
  throw Error(ErrorCode::kStorage, fmt::format("{}: {}", what, error.message()));
}

void RemoveAll(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
  if (error) StorageError(fmt::format("offline export: removing {} failed", path.string()), error);
}

// Flushes the file system holding `folder` (one flush for every file copied
// into it), or fsyncs `folder` itself when `whole_file_system` is false.
void Sync(const fs::path& folder, bool whole_file_system) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    StorageError(fmt::format("offline export: opening {} to sync failed", folder.string()),
                 std::error_code(errno, std::generic_category()));
  }
  const int result = whole_file_system ? ::syncfs(fd) : ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (result != 0) {
    StorageError(fmt::format("offline export: syncing {} failed", folder.string()),
                 std::error_code(saved, std::generic_category()));
  }
}

std::string FileSetId(TimePoint cut_off) {
  return "HOKAN_" + ExportFolderName(cut_off).substr(0, 8);  // "HOKAN_20261122"
}

}  // namespace

OfflineExportService::OfflineExportService(ExportIndex& index, FileSetWriter& writer,
                                           fs::path storage_root, fs::path export_root)
    : index_(index),
      writer_(writer),
      storage_root_(std::move(storage_root)),
      export_root_(std::move(export_root)) {}

ExportOutcome OfflineExportService::Run(std::int64_t facility_id, TimePoint cut_off,
                                        const ExportRunSettings& settings) {
  const TimePoint started = Now();
  const auto contract = index_.CurrentContract(facility_id, started);
  if (!contract) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("facility {}: no current contract, so no offline export", facility_id));
  }
  if (contract->service_class != "deluxe") {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("facility {}: its current contract is {}, not deluxe: offline media "
                            "export is a deluxe service",
                            contract->facility_name, contract->service_class));
  }
  ExportOutcome outcome;
  if (auto recorded = index_.FindByCutOff(facility_id, cut_off)) {
    outcome.kind = ExportOutcome::Kind::kAlreadyRecorded;
    outcome.record = std::move(recorded);
    return outcome;
  }
  std::error_code error;
  const fs::path facility_folder = fs::absolute(export_root_ / contract->facility_name, error);
  if (error) StorageError("offline export: resolving the export root failed", error);
  // The folder is named after the cut-off; when a recorded export already
  // has that name (two exports within one second), "-2", "-3", ... follow.
  // A rerun of this export picks the same name, so it finds its leftovers.
  std::set<std::string> taken;
  for (const auto& other : index_.List(facility_id)) taken.insert(other.folder);
  std::string name = ExportFolderName(cut_off);
  for (int suffix = 2; taken.count((facility_folder / name).string()); ++suffix) {
    name = fmt::format("{}-{}", ExportFolderName(cut_off), suffix);
  }
  const fs::path folder = facility_folder / name;
  const fs::path partial = facility_folder / (name + ".partial");
  // Leftovers of an interrupted run of this export (same cut-off): a
  // partial folder, or a final one whose record never committed. Removed
  // even when there is nothing (or no longer anything) to export.
  if (fs::exists(partial, error)) {
    Log(LogLevel::kWarn, "offline export: removing the leftover {}", partial.string());
  }
  RemoveAll(partial);
  if (fs::exists(folder, error)) {
    Log(LogLevel::kWarn, "offline export: removing the unrecorded leftover {}", folder.string());
  }
  RemoveAll(folder);
  const std::optional<TimePoint> previous = index_.LastCutOff(facility_id);
  outcome.previous_cut_off = previous;
  if (previous && cut_off <= *previous) return outcome;  // kNothingNew
  const std::vector<ExportSourceInstance> due = index_.InstancesDue(facility_id, previous, cut_off);
  if (due.empty()) return outcome;  // kNothingNew

  fs::create_directories(partial, error);
  if (error)
    StorageError(fmt::format("offline export: creating {} failed", partial.string()), error);

  // Copy every file under its media name, as stored (byte-identical).
  MediaLayout layout;
  std::vector<std::string> file_ids;
  std::map<std::string, std::size_t> instance_of_file;  // file id -> index in `due`
  std::vector<std::string> study_folder_of(due.size());
  for (std::size_t i = 0; i < due.size(); ++i) {
    const auto& instance = due[i];
    const std::string file_id =
        layout.Next(instance.study_instance_uid, instance.series_instance_uid);
    study_folder_of[i] = layout.StudyFolder();
    const fs::path target = partial / file_id;
    fs::create_directories(target.parent_path(), error);
    if (error) {
      StorageError(fmt::format("offline export: creating {} failed", target.parent_path().string()),
                   error);
    }
    fs::copy_file(storage_root_ / instance.relative_path, target, error);
    if (error) {
      StorageError(
          fmt::format("offline export: instance {}: copying {} failed", instance.sop_instance_uid,
                      (storage_root_ / instance.relative_path).string()),
          error);
    }
    file_ids.push_back(file_id);
    instance_of_file[file_id] = i;
  }

  const auto refused_files = writer_.Write(partial, FileSetId(cut_off), file_ids);
  std::set<std::size_t> refused;
  for (const auto& [file_id, reason] : refused_files) {
    const auto found = instance_of_file.find(file_id);
    if (found == instance_of_file.end()) continue;
    refused.insert(found->second);
    outcome.refused.push_back(fmt::format("{}: {}", due[found->second].sop_instance_uid, reason));
    fs::remove(partial / file_id, error);
    if (error) StorageError("offline export: removing a refused file failed", error);
    Log(LogLevel::kWarn, "offline export {}: instance {} left out: {}", folder.string(),
        due[found->second].sop_instance_uid, reason);
  }

  // Per study: what went to the media.
  std::vector<ExportedStudy> studies;
  OfflineExportRecord record;
  for (std::size_t i = 0; i < due.size(); ++i) {
    if (studies.empty() || studies.back().study_instance_uid != due[i].study_instance_uid) {
      studies.push_back(ExportedStudy{due[i].study_instance_uid, study_folder_of[i], 0, 0,
                                      due[i].study_last_received_at});
    }
    if (refused.count(i)) continue;
    studies.back().instances += 1;
    studies.back().bytes += due[i].size_bytes;
    record.instances += 1;
    record.bytes += due[i].size_bytes;
  }

  Sync(partial, true);
  Failpoint("export-before-rename");  // crash tests: the .partial folder is complete
  fs::rename(partial, folder, error);
  if (error) {
    StorageError(fmt::format("offline export: renaming {} to {} failed", partial.string(),
                             folder.filename().string()),
                 error);
  }
  Sync(facility_folder, false);
  Failpoint("export-after-rename");  // crash tests: final folder, no record yet

  record.facility_id = facility_id;
  record.facility_name = contract->facility_name;
  record.folder = folder.string();
  record.cut_off = FormatCutOff(cut_off);
  record.previous_cut_off = previous ? FormatCutOff(*previous) : "";
  record.studies = static_cast<int>(studies.size());
  record.refused_instances = static_cast<int>(refused.size());
  record.started_at = FormatUtc(started);
  record.finished_at = FormatUtc(std::max(Now(), started));
  record.node = settings.node;
  record.actor = settings.actor;
  AuditEntry audit;
  audit.actor = settings.actor;
  audit.action = "export.write";
  audit.facility_id = facility_id;
  audit.subject = record.folder;
  audit.detail = fmt::format("{} studies, {} instances, {} bytes; received after {} up to {}",
                             record.studies, record.instances, record.bytes,
                             previous ? record.previous_cut_off : "the beginning", record.cut_off);
  if (!outcome.refused.empty()) {
    audit.detail += fmt::format("; {} instance(s) refused by the media profile, first: {}",
                                outcome.refused.size(), outcome.refused.front());
  }
  const auto id = index_.Record(record, studies, audit);
  if (!id) {
    // Another export of this facility was recorded meanwhile: ours must not
    // stay unrecorded. The caller runs again against the new cut-off.
    RemoveAll(folder);
    throw Error(ErrorCode::kDatabase,
                fmt::format("offline export {}: another export of {} was recorded meanwhile; "
                            "this one was removed",
                            record.folder, record.facility_name));
  }
  record.id = *id;
  outcome.kind = ExportOutcome::Kind::kWritten;
  outcome.record = std::move(record);
  return outcome;
}

}  // namespace hokan::archive
