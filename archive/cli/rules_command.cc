// Placeholder until the rules commands land.
#include "archive/cli/commands.h"

#include "archive/common/error.h"

namespace hokan::cli {

int RunRulesCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }

}  // namespace hokan::cli
