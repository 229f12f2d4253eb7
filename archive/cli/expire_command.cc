// Placeholder until the expire commands land.
#include "archive/cli/commands.h"

#include "archive/common/error.h"

namespace hokan::cli {

int RunExpireCommand(CommandContext&) { throw Error(ErrorCode::kInternal, "not built yet"); }

}  // namespace hokan::cli
