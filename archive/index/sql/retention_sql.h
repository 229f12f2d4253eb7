#pragma once

// Index-internal: only archive/index/ and billing's SQL files include the
// headers under archive/index/sql/ (they name pqxx types).
//
// What RetentionIndex (retention_index.cc) and its DeletionLock
// (deletion_lock.cc) share.

#include <cstdint>
#include <string>
#include <vector>

#include "archive/index/retention_index.h"
#include "archive/index/sql/connection_pool.h"

namespace hokan::archive {

// Session advisory lock class of expiry deletions ("HKEX"); the second key
// is the deletion id (mod 2^32: a collision only makes a node skip).
constexpr int kDeletionLockClass = 0x484B4558;

// The connection that holds a deletion's session advisory lock.
struct RetentionIndex::DeletionLock::Session {
  explicit Session(sql::ConnectionPool::Lease leased) : lease(std::move(leased)) {}
  sql::ConnectionPool::Lease lease;
};

}  // namespace hokan::archive
