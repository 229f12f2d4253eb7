// hokan export --facility F --now [--export-root PATH] [--storage-root PATH] [--by NAME]
// hokan export list [--facility F]
//
// --now runs the facility's deluxe offline export immediately, exactly as
// the archive's scheduled job does, with the cut-off "now": the studies
// received since the previous export's cut-off go into
// <export root>/<facility>/<YYYYMMDDTHHMMSSZ>/ with a DICOMDIR. The export
// and storage roots come from the options, else from the --config file.
// A facility whose current contract is not deluxe is refused (exit 2,
// nothing written). `list` prints the recorded exports, newest first.
#include <fmt/format.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <string>

#include "cli/command_arguments.h"
#include "cli/commands.h"
#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/config/config.h"
#include "archive/export/offline_export_service.h"
#include "archive/index/export_index.h"
#include "archive/storage/fs_file_store.h"
#include "dicom/dicomdir_writer.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

constexpr const char* kExportUsage =
    "usage: hokan export --facility FACILITY --now [--export-root PATH] [--storage-root PATH]\n"
    "                    [--by NAME]\n"
    "       hokan export list [--facility FACILITY]\n"
    "  --now   write the facility's offline export (DICOMDIR file set) now: the studies\n"
    "          received since its previous export. Deluxe contracts only.\n"
    "  list    the recorded exports, newest first\n"
    "  the roots default to the --config file's [archive] export_root and storage_root\n";

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, "export: " + message);
}

po::variables_map ParseOptions(const std::vector<std::string>& arguments) {
  po::options_description options;
  options.add_options()("now", "")("facility", po::value<std::string>())(
      "export-root", po::value<std::string>())("storage-root", po::value<std::string>())(
      "by", po::value<std::string>())("help,h", "");
  return ParseCommandArguments(arguments, options, "export");
}

// --NAME's value, else the configuration file's, else an error.
std::filesystem::path RootOf(const po::variables_map& values, const CommandContext& context,
                             const std::string& option,
                             std::filesystem::path archive::ArchiveConfig::*field) {
  if (values.count(option)) {
    const std::string root = values[option].as<std::string>();
    if (root.empty()) Invalid(fmt::format("--{} is empty", option));
    return root;
  }
  if (!context.config_path.empty()) return archive::LoadConfig(context.config_path, {}).*field;
  Invalid(fmt::format("--now needs the {0}: give --{0} PATH or hokan --config FILE", option));
}

std::string NodeName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "hokan";
  return std::string("hokan@") + host;
}

int List(archive::ExportIndex& index, const std::optional<std::int64_t>& facility_id) {
  std::cout << fmt::format("{:>5}  {:<16} {:<28} {:>7} {:>9} {:>12} {:>7}  {:<20} {}\n", "id",
                           "facility", "cut_off", "studies", "instances", "bytes", "refused",
                           "finished_at", "folder");
  for (const auto& record : index.List(facility_id)) {
    std::cout << fmt::format("{:>5}  {:<16} {:<28} {:>7} {:>9} {:>12} {:>7}  {:<20} {}\n",
                             record.id, record.facility_name, record.cut_off, record.studies,
                             record.instances, record.bytes, record.refused_instances,
                             record.finished_at, record.folder);
  }
  return 0;
}

}  // namespace

int RunExportCommand(CommandContext& context) {
  std::vector<std::string> arguments = context.arguments;
  const bool list = !arguments.empty() && arguments.front() == "list";
  if (list) arguments.erase(arguments.begin());
  const po::variables_map values = ParseOptions(arguments);
  if (values.count("help")) {
    std::cout << kExportUsage;
    return 0;
  }
  archive::ExportIndex index(context.database);
  std::optional<std::int64_t> facility_id;
  std::string facility_name;
  if (values.count("facility")) {
    facility_name = values["facility"].as<std::string>();
    facility_id = index.FacilityId(facility_name);
    if (!facility_id) Invalid(fmt::format("unknown facility '{}'", facility_name));
  }
  if (list) {
    if (values.count("now") || values.count("export-root") || values.count("storage-root") ||
        values.count("by")) {
      Invalid("'export list' takes only --facility");
    }
    return List(index, facility_id);
  }
  if (!values.count("now")) Invalid("give --now (write an export now) or 'list'");
  if (!facility_id) Invalid("--now needs --facility FACILITY");
  const std::string actor = ActorOf(values, context.actor, "export");
  const auto export_root =
      RootOf(values, context, "export-root", &archive::ArchiveConfig::export_root);
  const auto storage_root =
      RootOf(values, context, "storage-root", &archive::ArchiveConfig::storage_root);
  std::error_code error;
  if (!std::filesystem::is_directory(storage_root, error)) {
    Invalid(fmt::format("storage root {} is not a folder", storage_root.string()));
  }

  dicom::DcmtkFileSetWriter writer;
  const archive::FsFileStore files(storage_root);
  archive::OfflineExportService service(index, writer, files, export_root);
  const TimePoint cut_off = Now();
  const archive::ExportOutcome outcome = service.Run(*facility_id, cut_off, {actor, NodeName()});
  switch (outcome.kind) {
    case archive::ExportOutcome::Kind::kWritten: {
      const auto& record = *outcome.record;
      for (const auto& refused : outcome.refused) {
        std::cerr << "hokan: export: left out (refused by the media profile): " << refused << "\n";
      }
      std::cout << fmt::format(
          "export {} of {}: {} studies, {} instances, {} bytes written to {} (received after {} "
          "up to {}){}\n",
          record.id, record.facility_name, record.studies, record.instances, record.bytes,
          record.folder,
          record.previous_cut_off.empty() ? "the beginning" : record.previous_cut_off,
          record.cut_off,
          outcome.refused.empty() ? ""
                                  : fmt::format("; {} instances refused", outcome.refused.size()));
      return 0;
    }
    case archive::ExportOutcome::Kind::kAlreadyRecorded:
      std::cout << fmt::format("export {} of {} with this cut-off is already recorded: {}\n",
                               outcome.record->id, facility_name, outcome.record->folder);
      return 0;
    case archive::ExportOutcome::Kind::kNothingNew:
      std::cout << fmt::format(
          "export of {}: no study received since the last export{}; nothing written\n",
          facility_name,
          outcome.previous_cut_off
              ? fmt::format(" (cut-off {})", FormatUtc(*outcome.previous_cut_off))
              : "");
      return 0;
  }
  return 1;
}

}  // namespace hokan::cli
