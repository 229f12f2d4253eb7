#pragma once

// The subcommands of `hokan`, one file per area (cli/*_command.cc).

#include <string>
#include <vector>

namespace hokan::archive {
class Database;
}

namespace hokan::cli {

struct CommandContext {
  archive::Database& database;  // migrated, one connection
  std::vector<std::string> arguments;  // after the command word, options included
  std::string actor;  // who runs it: --by NAME where a command takes it, else this ($SUDO_USER, $USER)
  std::string config_path;  // the global --config FILE, "" when not given
};

// Each returns the exit status (0 done, 1 failure). Bad arguments or input
// throw hokan::Error(kInvalidInput) with a message naming the argument
// (exit status 2, nothing changed); database failures hokan::Error(kDatabase).
int RunContractCommand(CommandContext& context);  // contract add|change|end|show|list
int RunPatientCommand(CommandContext& context);   // patient opt-in|opt-out|clear|list
int RunHoldCommand(CommandContext& context);      // hold set|release|list
int RunUsageCommand(CommandContext& context);     // usage [--facility F]
int RunAuditCommand(CommandContext& context);     // audit [--facility F] [--action P] [--limit N]
int RunRulesCommand(CommandContext& context);     // rules add|list|delete|test
int RunExpireCommand(CommandContext& context);    // expire --dry-run|--now [--facility F] ...
int RunExportCommand(CommandContext& context);    // export --facility F --now | export list
int RunPurposeCommand(CommandContext& context);   // purpose add|change|list|grant|revoke
int RunFeeCommand(CommandContext& context);       // fee add|list
int RunPriceCommand(CommandContext& context);     // price set|list
int RunBillingCommand(CommandContext& context);   // billing invoice --facility F --month M
int RunStorageCommand(CommandContext& context);   // storage show|adopt

}  // namespace hokan::cli
