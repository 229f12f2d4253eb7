// hokan expire --dry-run|--now [--facility F] [--limit N] [--storage-root PATH] [--by NAME]
//
// --dry-run lists the studies a run would delete now (study UID, facility,
// action and reason, instances, bytes, expires_at) and changes nothing.
// --now runs exactly what the archive's expiry worker runs (after
// finishing deletions an interrupted run left), as the operator: the audit
// rows name --by or the user. The storage root is --storage-root, else the
// --config file's [archive] storage_root; --now refuses a root whose marker
// does not name this database (archive/storage/storage_root_guard.h).
#include <iostream>
#include <optional>
#include <string>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli/command_arguments.h"
#include "cli/commands.h"
#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/config/config.h"
#include "archive/index/retention_index.h"
#include "archive/storage/fs_file_store.h"
#include "archive/storage/storage_root_guard.h"
#include "archive/retention/expiry_reason.h"
#include "archive/retention/expiry_service.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

constexpr int kDryRunDefaultLimit = 1000000;

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, "expire: " + message);
}

po::variables_map ParseOptions(const std::vector<std::string>& arguments) {
  po::options_description options;
  options.add_options()("dry-run", "")("now", "")("facility", po::value<std::string>())(
      "limit", po::value<std::string>())("storage-root", po::value<std::string>())(
      "by", po::value<std::string>())("help,h", "");
  return ParseCommandArguments(arguments, options, "expire");
}

std::optional<int> LimitOf(const po::variables_map& values) {
  if (!values.count("limit")) return std::nullopt;
  const std::string text = values["limit"].as<std::string>();
  std::size_t used = 0;
  long long limit = 0;
  try {
    limit = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || limit < 1 || limit > 1000000) {
    Invalid(fmt::format("--limit '{}' is not a whole number from 1 to 1000000", text));
  }
  return static_cast<int>(limit);
}

std::filesystem::path StorageRootOf(const po::variables_map& values,
                                    const CommandContext& context) {
  if (values.count("storage-root")) {
    const std::string root = values["storage-root"].as<std::string>();
    if (root.empty()) Invalid("--storage-root is empty");
    return root;
  }
  if (!context.config_path.empty()) {
    return archive::LoadConfig(context.config_path, {}).storage_root;
  }
  Invalid("--now needs the storage root: give --storage-root PATH or hokan --config FILE");
}

void PrintCandidates(const std::vector<archive::ExpiryCandidate>& candidates) {
  std::cout << fmt::format("{:<64} {:<16} {:<14} {:>9} {:>12} {:<20} {}\n",
                           "study_instance_uid", "facility", "action", "instances", "bytes",
                           "expires_at", "reason");
  std::int64_t instances = 0;
  std::int64_t bytes = 0;
  for (const auto& candidate : candidates) {
    std::cout << fmt::format(
        "{:<64} {:<16} {:<14} {:>9} {:>12} {:<20} {}\n", candidate.study_instance_uid,
        candidate.facility_name, archive::AuditAction(candidate.facts.cause),
        candidate.instances, candidate.bytes,
        candidate.expires_at.empty() ? "-" : candidate.expires_at,
        archive::ExpiryReason(candidate.facts));
    instances += candidate.instances;
    bytes += candidate.bytes;
  }
  std::cout << fmt::format("dry run: {} studies, {} instances, {} bytes would be deleted\n",
                           candidates.size(), instances, bytes);
}

}  // namespace

int RunExpireCommand(CommandContext& context) {
  const po::variables_map values = ParseOptions(context.arguments);
  if (values.count("help")) {
    std::cout << "usage: hokan expire --dry-run|--now [--facility FACILITY] [--limit N]\n"
                 "                    [--storage-root PATH] [--by NAME]\n"
                 "  --dry-run   list what would be deleted now; change nothing\n"
                 "  --now       delete it now (as the archive's expiry worker does)\n";
    return 0;
  }
  const bool dry_run = values.count("dry-run") > 0;
  const bool now = values.count("now") > 0;
  if (dry_run == now) Invalid("give exactly one of --dry-run and --now");
  const std::optional<int> limit = LimitOf(values);
  const std::string actor = ActorOf(values, context.actor, "expire");

  archive::RetentionIndex index(context.database);
  std::optional<std::int64_t> facility_id;
  if (values.count("facility")) {
    const std::string name = values["facility"].as<std::string>();
    facility_id = index.FacilityId(name);
    if (!facility_id) Invalid(fmt::format("unknown facility '{}'", name));
  }

  if (dry_run) {
    // The storage root is not needed to list; a given one must still be sane.
    if (values.count("storage-root") && values["storage-root"].as<std::string>().empty()) {
      Invalid("--storage-root is empty");
    }
    PrintCandidates(archive::ExpiryService::DryRun(index, Now(), facility_id,
                                                   limit.value_or(kDryRunDefaultLimit)));
    return 0;
  }

  const std::filesystem::path root = StorageRootOf(values, context);
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    Invalid(fmt::format("storage root {} is not a folder", root.string()));
  }
  // Before anything is deleted: a wrong root must not cost the index rows.
  const std::string installation_id = archive::RequireOwnStorageRoot(context.database, root);
  archive::FsFileStore files(root);
  archive::ExpiryService service(index, files, [&files, installation_id] {
    archive::RequireStorageRoot(files.root(), installation_id);
  });
  archive::ExpiryRunOptions options;
  options.facility_id = facility_id;
  options.limit = limit;
  options.actor = actor;
  const archive::ExpiryReport report = service.Run(options);
  for (const auto& study : report.deleted) {
    std::cout << fmt::format("{} {}: {} instances, {} bytes ({}){}\n", study.action,
                             study.study_instance_uid, study.instances, study.bytes,
                             study.reason,
                             study.instances_kept > 0
                                 ? fmt::format("; {} instances received meanwhile kept",
                                               study.instances_kept)
                                 : "");
  }
  for (const auto& failure : report.failures) std::cerr << "hokan: expire: " << failure << "\n";
  std::cout << fmt::format(
      "expired {} studies ({} instances, {} bytes); {} kept (no longer due), {} leftover(s) of "
      "interrupted runs settled, {} failed\n",
      report.deleted.size(), report.instances, report.bytes, report.cancelled,
      report.leftovers_settled, report.failures.size());
  return report.failures.empty() ? 0 : 1;
}

}  // namespace hokan::cli
