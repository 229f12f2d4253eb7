// Placeholder until the contract commands land.
#include "archive/cli/commands.h"

#include "archive/common/error.h"

namespace hokan::cli {

int RunContractCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }
int RunPatientCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }
int RunHoldCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }
int RunUsageCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }
int RunAuditCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }

}  // namespace hokan::cli
