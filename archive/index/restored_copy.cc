// InstanceIndex::StateOfRestoredCopy: whether a re-stored file may restore
// an instance row whose file had gone, or expiry is deleting that row
// (issue 14, item 9: re-storing an instance while expiry deletes it must
// leave no orphan file).
#include <fmt/format.h>

#include "archive/index/instance_index.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {

InstanceIndex::RestoredCopy InstanceIndex::StateOfRestoredCopy(
    const std::string& relative_path) {
  // One snapshot: a deletion's commit removes the row and leaves 'pending'
  // together.
  return sql::ReadOnly(
      database_, fmt::format("checking the row of re-stored {}", relative_path),
      [&](pqxx::read_transaction& transaction) {
        const pqxx::result result = transaction.exec_params(
            "SELECT i.id IS NOT NULL, "
            "       EXISTS (SELECT 1 FROM expiry_deletion_files f "
            "                 JOIN expiry_deletions d ON d.id = f.deletion_id "
            "                WHERE f.instance_id = i.id AND d.state = 'pending') "
            "  FROM (SELECT 1) AS one LEFT JOIN instances i ON i.relative_path = $1",
            relative_path);
        if (!result[0][0].as<bool>()) return RestoredCopy::kGone;
        return result[0][1].as<bool>() ? RestoredCopy::kBeingDeleted : RestoredCopy::kKept;
      });
}

}  // namespace hokan::archive
