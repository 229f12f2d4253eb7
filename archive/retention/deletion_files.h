#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/storage/file_store.h"

namespace hokan::archive {

// The file steps of one expiry deletion (expiry_service.h), on the file
// store's quarantine set named by the deletion id. Each step can be
// repeated after a crash with the same result and is durable when it
// returns; failures throw hokan::Error(kStorage) from the store.

// Before the deleting transaction: sets the files aside. Returns the
// files found nowhere (logged as a warning: lost before expiry came).
std::vector<std::string> SetAsideDeletionFiles(FileStore& files, std::int64_t deletion_id,
                                               const std::vector<std::string>& paths);

// The deletion committed: the set goes, and the folders it emptied.
void DropDeletionFiles(FileStore& files, std::int64_t deletion_id,
                       const std::vector<std::string>& paths);

// The deletion was cancelled: `to_restore` go back under their names (a
// file stored again under a name meanwhile wins), then the set goes.
void PutBackDeletionFiles(FileStore& files, std::int64_t deletion_id,
                          const std::vector<std::string>& to_restore);

}  // namespace hokan::archive
