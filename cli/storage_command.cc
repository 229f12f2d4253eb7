// hokan storage show [--storage-root PATH]
// hokan storage adopt --storage-root PATH [--by NAME]
//
// A storage root carries a marker naming the database whose files it holds
// (archive/storage/storage_root_guard.h); expiry refuses a root without
// this database's marker. `show` prints the database's installation and
// what a root's marker names; `adopt` marks a root for this database after
// its files were moved there on purpose (audited as storage.adopt).
#include <iostream>
#include <optional>
#include <string>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli/command_arguments.h"
#include "cli/commands.h"
#include "archive/common/error.h"
#include "archive/config/config.h"
#include "archive/index/installation_index.h"
#include "archive/storage/storage_marker.h"
#include "archive/storage/storage_root_guard.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

constexpr const char* kUsage =
    "usage: hokan storage show [--storage-root PATH]\n"
    "       hokan storage adopt --storage-root PATH [--by NAME]\n"
    "  show    this database's installation id and what the root's marker names\n"
    "  adopt   mark the root for this database (after moving its files there)\n";

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, "storage: " + message);
}

po::variables_map ParseOptions(const std::vector<std::string>& arguments) {
  po::options_description options;
  options.add_options()("storage-root", po::value<std::string>())("by", po::value<std::string>())(
      "help,h", "");
  return ParseCommandArguments(arguments, options, "storage");
}

int Show(const po::variables_map& values, const CommandContext& context) {
  const std::optional<archive::Installation> installation =
      archive::FindInstallation(context.database);
  if (!installation) {
    std::cout << "installation: none yet (hokan-archive creates it at its first start)\n";
  } else {
    std::cout << fmt::format("installation: {} (created {})\n", installation->id,
                             installation->created_at);
    std::cout << fmt::format("storage root marked: {}\n",
                             installation->storage_marked_at
                                 ? *installation->storage_marked_at + " " +
                                       installation->storage_marked_root
                                 : std::string("never"));
  }
  std::filesystem::path root;
  if (values.count("storage-root")) {
    root = values["storage-root"].as<std::string>();
  } else if (!context.config_path.empty()) {
    root = archive::LoadConfig(context.config_path, {}).storage_root;
  } else {
    return 0;
  }
  const std::optional<std::string> marker = archive::ReadStorageMarker(root);
  const bool own = installation && marker == installation->id;
  std::cout << fmt::format("{}: {}\n", root.string(),
                           !marker ? std::string("no marker")
                           : own   ? "marked for this database"
                                   : "marked for another database (installation " + *marker + ")");
  return 0;
}

}  // namespace

int RunStorageCommand(CommandContext& context) {
  if (context.arguments.empty()) Invalid("give show or adopt");
  const std::string action = context.arguments.front();
  const po::variables_map values =
      ParseOptions({context.arguments.begin() + 1, context.arguments.end()});
  if (action == "--help" || action == "-h" || values.count("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (action == "show") return Show(values, context);
  if (action != "adopt") Invalid(fmt::format("unknown action '{}': give show or adopt", action));
  if (!values.count("storage-root") || values["storage-root"].as<std::string>().empty()) {
    Invalid("adopt needs --storage-root PATH (the folder to mark for this database)");
  }
  const std::string actor = ActorOf(values, context.actor, "storage");
  const std::filesystem::path root = values["storage-root"].as<std::string>();
  const std::string previous = archive::AdoptStorageRoot(context.database, root, actor);
  std::cout << fmt::format("storage root {} is now marked for this database (it named {})\n",
                           root.string(),
                           previous.empty() ? "no database" : "installation " + previous);
  return 0;
}

}  // namespace hokan::cli
