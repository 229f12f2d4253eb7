#include "archive/export/offline_export_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "archive/common/error.h"
#include "archive/common/failpoint.h"
#include "archive/common/log.h"
#include "archive/export/export_schedule.h"
#include "archive/export/media_copy.h"

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
                                           const FileStore& files, fs::path export_root)
    : index_(index), writer_(writer), files_(files), export_root_(std::move(export_root)) {}

ExportContract OfflineExportService::RequireDeluxe(std::int64_t facility_id, TimePoint now) {
  auto contract = index_.CurrentContract(facility_id, now);
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
  return std::move(*contract);
}

// The folder is named after the cut-off; when a recorded export already has
// that name (two exports within one second), "-2", "-3", ... follow. A rerun
// of this export picks the same name, so it finds its leftovers: a partial
// folder, or a final one whose record never committed. They are removed
// here, even when there is nothing (or no longer anything) to export.
OfflineExportService::Folders OfflineExportService::ChooseFolders(
    std::int64_t facility_id, const std::string& facility_name, TimePoint cut_off) {
  std::error_code error;
  Folders folders;
  folders.facility = fs::absolute(export_root_ / facility_name, error);
  if (error) StorageError("offline export: resolving the export root failed", error);
  std::set<std::string> taken;
  for (const auto& other : index_.List(facility_id)) taken.insert(other.folder);
  std::string name = ExportFolderName(cut_off);
  for (int suffix = 2; taken.count((folders.facility / name).string()); ++suffix) {
    name = fmt::format("{}-{}", ExportFolderName(cut_off), suffix);
  }
  folders.final_folder = folders.facility / name;
  folders.partial = folders.facility / (name + ".partial");
  if (fs::exists(folders.partial, error)) {
    Log(LogLevel::kWarn, "offline export: removing the leftover {}", folders.partial.string());
  }
  RemoveAll(folders.partial);
  if (fs::exists(folders.final_folder, error)) {
    Log(LogLevel::kWarn, "offline export: removing the unrecorded leftover {}",
        folders.final_folder.string());
  }
  RemoveAll(folders.final_folder);
  return folders;
}

// Writes DICOMDIR; the files the media profile refused are removed from the
// media and reported. Returns their indexes in `due`.
std::set<std::size_t> OfflineExportService::LeaveOutRefused(
    const Folders& folders, TimePoint cut_off, const std::vector<ExportSourceInstance>& due,
    const std::vector<std::string>& file_ids,
    const std::map<std::string, std::size_t>& instance_of_file, ExportOutcome& outcome) {
  const auto refused_files = writer_.Write(folders.partial, FileSetId(cut_off), file_ids);
  std::set<std::size_t> refused;
  std::error_code error;
  for (const auto& [file_id, reason] : refused_files) {
    const auto found = instance_of_file.find(file_id);
    if (found == instance_of_file.end()) continue;
    refused.insert(found->second);
    outcome.refused.push_back(fmt::format("{}: {}", due[found->second].sop_instance_uid, reason));
    fs::remove(folders.partial / file_id, error);
    if (error) StorageError("offline export: removing a refused file failed", error);
    Log(LogLevel::kWarn, "offline export {}: instance {} left out: {}",
        folders.final_folder.string(), due[found->second].sop_instance_uid, reason);
  }
  return refused;
}

// Records the export with its studies and an audit row in one transaction;
// sets record.id. `record` has its facility, folder, totals and times.
void OfflineExportService::RecordExport(OfflineExportRecord& record,
                                        const std::vector<ExportedStudy>& studies,
                                        const ExportOutcome& outcome,
                                        const std::optional<TimePoint>& previous) {
  AuditEntry audit;
  audit.actor = record.actor;
  audit.action = "export.write";
  audit.facility_id = record.facility_id;
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
    RemoveAll(record.folder);
    throw Error(ErrorCode::kDatabase,
                fmt::format("offline export {}: another export of {} was recorded meanwhile; "
                            "this one was removed",
                            record.folder, record.facility_name));
  }
  record.id = *id;
}

namespace {

// Makes the complete .partial folder durable, gives it its final name, and
// makes that name durable.
void Publish(const fs::path& partial, const fs::path& final_folder,
             const fs::path& facility_folder) {
  Sync(partial, true);
  Failpoint("export-before-rename");  // crash tests: the .partial folder is complete
  std::error_code error;
  fs::rename(partial, final_folder, error);
  if (error) {
    StorageError(fmt::format("offline export: renaming {} to {} failed", partial.string(),
                             final_folder.filename().string()),
                 error);
  }
  Sync(facility_folder, false);
  Failpoint("export-after-rename");  // crash tests: final folder, no record yet
}

}  // namespace

ExportOutcome OfflineExportService::Run(std::int64_t facility_id, TimePoint cut_off,
                                        const ExportRunSettings& settings) {
  const TimePoint started = Now();
  const ExportContract contract = RequireDeluxe(facility_id, started);
  ExportOutcome outcome;
  if (auto recorded = index_.FindByCutOff(facility_id, cut_off)) {
    outcome.kind = ExportOutcome::Kind::kAlreadyRecorded;
    outcome.record = std::move(recorded);
    return outcome;
  }
  const Folders folders = ChooseFolders(facility_id, contract.facility_name, cut_off);
  const std::optional<TimePoint> previous = index_.LastCutOff(facility_id);
  outcome.previous_cut_off = previous;
  if (previous && cut_off <= *previous) return outcome;  // kNothingNew
  const std::vector<ExportSourceInstance> due = index_.InstancesDue(facility_id, previous, cut_off);
  if (due.empty()) return outcome;  // kNothingNew

  std::error_code error;
  fs::create_directories(folders.partial, error);
  if (error) {
    StorageError(fmt::format("offline export: creating {} failed", folders.partial.string()),
                 error);
  }
  // Every file under its media name, as stored (byte-identical).
  const MediaCopy copy = CopyToMedia(files_, due, folders.partial);
  const std::set<std::size_t> refused =
      LeaveOutRefused(folders, cut_off, due, copy.file_ids, copy.instance_of_file, outcome);
  OfflineExportRecord record;
  const std::vector<ExportedStudy> studies = SummarizeStudies(due, copy, refused, record);
  Publish(folders.partial, folders.final_folder, folders.facility);

  record.facility_id = facility_id;
  record.facility_name = contract.facility_name;
  record.folder = folders.final_folder.string();
  record.cut_off = FormatCutOff(cut_off);
  record.previous_cut_off = previous ? FormatCutOff(*previous) : "";
  record.studies = static_cast<int>(studies.size());
  record.refused_instances = static_cast<int>(refused.size());
  record.started_at = FormatUtc(started);
  record.finished_at = FormatUtc(std::max(Now(), started));
  record.node = settings.node;
  record.actor = settings.actor;
  RecordExport(record, studies, outcome, previous);
  outcome.kind = ExportOutcome::Kind::kWritten;
  outcome.record = std::move(record);
  return outcome;
}

}  // namespace hokan::archive
