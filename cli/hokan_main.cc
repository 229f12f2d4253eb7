// hokan: the administration command for PACS administrators.
//
//   hokan [--config FILE] [--database-url URL] grant add --owner F --grantee G
//         --patient-id P [--reason TEXT] [--by NAME]
//   hokan ... grant revoke ID [--by NAME]
//   hokan ... grant list [--facility F] [--all]
//
// The database comes from --database-url, else $HOKAN_DATABASE_URL, else the
// configuration file's [database] url. Exit status: 0 done, 1 failure,
// 2 usage or input error (the message says which).
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "archive/common/error.h"
#include "archive/config/config.h"
#include "archive/index/database.h"
#include "archive/index/sharing_grants.h"
#include "schema/embedded_migrations.h"

namespace po = boost::program_options;
using namespace hokan;

namespace {

constexpr const char* kUsage =
    "usage: hokan [--config FILE] [--database-url URL] COMMAND ...\n"
    "commands:\n"
    "  grant add --owner FACILITY --grantee FACILITY --patient-id ID [--reason TEXT] [--by NAME]\n"
    "      let GRANTEE find and retrieve the data of OWNER's patient ID\n"
    "  grant revoke GRANT_ID [--by NAME]\n"
    "  grant list [--facility FACILITY] [--all]\n"
    "  contract add|change|end|show|list ...   a facility's storage contract (history kept)\n"
    "  patient opt-in|opt-out|clear|list ...   per-patient choices of a facility\n"
    "  hold set|release|list ...               legal holds on studies\n"
    "  usage [--facility FACILITY]             used, quota, free, studies, what expires soon\n"
    "  audit [--facility F] [--action PREFIX] [--limit N]\n"
    "  rules add|list|delete|test ...          storage rules; `rules test FILE` shows the rule a file hits\n"
    "  expire --dry-run|--now [--facility F] [--limit N] [--storage-root PATH] [--by NAME]\n"
    "      delete expired, contract-ended and recycled unheld studies (or list them);\n"
    "      --now refuses a storage root not marked for this database\n"
    "  storage show [--storage-root PATH] | storage adopt --storage-root PATH [--by NAME]\n"
    "      this database's installation id and a root's marker; mark a moved root\n"
    "  export --facility F --now [--export-root PATH] [--storage-root PATH] | export list\n"
    "      deluxe offline media export (DICOMDIR file set) now, or the recorded exports\n"
    "  purpose add|change NAME [--called-ae AE] [--modalities CT,MR|*] [--sop-classes UIDS]\n"
    "      [--max-rows N] [--max-columns N] [--pixel-rights original|lossy_only]\n"
    "      [--reports retrieve|store|both|none] [--description TEXT]\n"
    "  purpose list [--format table|csv] | purpose grant|revoke NAME --ae AE\n"
    "      purposes of retrieval, their available ranges and the AE titles that may use them\n"
    "  fee add --purpose NAME [--modality CT] --amount N --currency JPY --effective YYYY-MM-DD\n"
    "  fee list [--purpose NAME]               fees per examination retrieved (minor units)\n"
    "  price set ITEM --amount N --currency JPY --effective YYYY-MM-DD [--allow-past]\n"
    "  price list      ITEM: accounting_point, storage_gb_month, quota_overage_gb_month,\n"
    "                  offline_export\n"
    "  billing invoice --facility F --month YYYY-MM [--format table|csv]\n"
    "a command run with missing or wrong options says what it needs; README.md has examples\n";

[[noreturn]] void UsageError(const std::string& message) {
  std::cerr << "hokan: " << message << "\n" << kUsage;
  std::exit(2);
}

std::string DefaultActor() {
  for (const char* variable : {"SUDO_USER", "USER", "LOGNAME"}) {
    if (const char* value = std::getenv(variable); value && *value) return value;
  }
  return "unknown";
}

std::string DatabaseUrl(const po::variables_map& globals) {
  if (globals.count("database-url")) return globals["database-url"].as<std::string>();
  if (const char* url = std::getenv("HOKAN_DATABASE_URL"); url && *url) return url;
  if (globals.count("config")) {
    return archive::LoadConfig(globals["config"].as<std::string>(), {}).database_url;
  }
  UsageError("no database: give --database-url, set HOKAN_DATABASE_URL or give --config");
}

int Grant(archive::SharingGrants& grants, const std::vector<std::string>& arguments) {
  if (arguments.empty()) UsageError("'grant' needs add, revoke or list");
  const std::string action = arguments[0];
  po::options_description options;
  options.add_options()("owner", po::value<std::string>())("grantee", po::value<std::string>())(
      "patient-id", po::value<std::string>())("reason", po::value<std::string>()->default_value(""))(
      "by", po::value<std::string>()->default_value(DefaultActor()))(
      "facility", po::value<std::string>())("all", "include revoked grants")(
      "id", po::value<std::int64_t>());
  po::positional_options_description positional;
  positional.add("id", 1);
  po::variables_map values;
  try {
    const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
    po::store(po::command_line_parser(rest).options(options).positional(positional).run(),
              values);
  } catch (const po::error& error) {
    UsageError(error.what());
  }
  auto required = [&](const char* name) {
    if (!values.count(name)) UsageError(fmt::format("'grant {}' needs --{}", action, name));
    return values[name].as<std::string>();
  };

  if (action == "add") {
    const auto id = grants.Grant(required("owner"), required("grantee"), required("patient-id"),
                                 values["reason"].as<std::string>(),
                                 values["by"].as<std::string>());
    std::cout << fmt::format("grant {}: {} shares patient '{}' with {}\n", id,
                             values["owner"].as<std::string>(),
                             values["patient-id"].as<std::string>(),
                             values["grantee"].as<std::string>());
    return 0;
  }
  if (action == "revoke") {
    if (!values.count("id")) UsageError("'grant revoke' needs a GRANT_ID");
    const auto id = values["id"].as<std::int64_t>();
    grants.Revoke(id, values["by"].as<std::string>());
    std::cout << fmt::format("grant {} revoked\n", id);
    return 0;
  }
  if (action == "list") {
    std::optional<std::string> facility;
    if (values.count("facility")) facility = values["facility"].as<std::string>();
    const auto list = grants.List(facility, values.count("all") > 0);
    std::cout << fmt::format("{:>6}  {:<16} {:<16} {:<20} {:<20} {:<12} {}\n", "id", "owner",
                             "grantee", "patient_id", "granted_at", "granted_by", "revoked_at");
    for (const auto& grant : list) {
      std::cout << fmt::format("{:>6}  {:<16} {:<16} {:<20} {:<20} {:<12} {}\n", grant.id,
                               grant.owner_facility, grant.grantee_facility, grant.patient_id,
                               grant.granted_at, grant.granted_by,
                               grant.revoked_at.value_or("-"));
    }
    return 0;
  }
  UsageError(fmt::format("unknown grant action '{}'", action));
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description globals_description;
  globals_description.add_options()("help,h", "")("config,c", po::value<std::string>())(
      "database-url", po::value<std::string>())("command", po::value<std::string>())(
      "arguments", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("command", 1).add("arguments", -1);
  po::variables_map globals;
  std::vector<std::string> arguments;
  try {
    const auto parsed = po::command_line_parser(argc, argv)
                            .options(globals_description)
                            .positional(positional)
                            .allow_unregistered()
                            .run();
    po::store(parsed, globals);
    // Everything after the command belongs to it, options included.
    arguments = po::collect_unrecognized(parsed.options, po::include_positional);
    if (!arguments.empty()) arguments.erase(arguments.begin());  // the command itself
  } catch (const po::error& error) {
    UsageError(error.what());
  }
  if (globals.count("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!globals.count("command")) UsageError("no command given");
  const std::string command = globals["command"].as<std::string>();

  try {
    archive::Database database(DatabaseUrl(globals), 1);
    archive::ApplyMigrations(database, schema::EmbeddedMigrations());
    if (command == "grant") {
      archive::SharingGrants grants(database);
      return Grant(grants, arguments);
    }
    const struct {
      const char* name;
      int (*run)(cli::CommandContext&);
    } commands[] = {
        {"contract", cli::RunContractCommand}, {"patient", cli::RunPatientCommand},
        {"hold", cli::RunHoldCommand},         {"usage", cli::RunUsageCommand},
        {"audit", cli::RunAuditCommand},       {"rules", cli::RunRulesCommand},
        {"expire", cli::RunExpireCommand},
        {"export", cli::RunExportCommand},
        {"purpose", cli::RunPurposeCommand},   {"fee", cli::RunFeeCommand},
        {"price", cli::RunPriceCommand},       {"billing", cli::RunBillingCommand},
        {"storage", cli::RunStorageCommand},
    };
    for (const auto& entry : commands) {
      if (command == entry.name) {
        cli::CommandContext context{database, arguments, DefaultActor(), ""};
        if (globals.count("config")) context.config_path = globals["config"].as<std::string>();
        return entry.run(context);
      }
    }
    UsageError(fmt::format("unknown command '{}'", command));
  } catch (const Error& error) {
    std::cerr << "hokan: " << error.what() << std::endl;
    return error.code() == ErrorCode::kInvalidInput || error.code() == ErrorCode::kConfiguration
               ? 2
               : 1;
  }
}
