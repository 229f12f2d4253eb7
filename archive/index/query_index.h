#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "archive/model/find_request.h"
#include "archive/model/retrieve_request.h"

namespace hokan::archive {

class Database;

// One SQL statement and its parameters. Every parameter is passed as text
// and cast in the SQL; no value of the request ever appears in `sql`.
struct BuiltQuery {
  std::string sql;
  std::vector<std::string> params;  // $1 … $n
  // Per request key: the result column holding its value, or -1 when the
  // key is not supported at this level (its value is nullopt). Column 0 is
  // the id of the level's row.
  std::vector<int> key_columns;
  // Per request key: whether its column is a sequence's items (a
  // two-dimensional text[], see FindMatch::sequences).
  std::vector<bool> sequence_keys;
};

// Translates a C-FIND request into one statement over the index, by the
// matching rules documented in archive/query/find_request.h. Pure.
//
// The statement drives from the query level's table (studies at STUDY
// level), joins up to patients for the keys of higher levels, restricts
// the driving table (and each joined table a key matches on) to the
// request's facilities and orders by the level's primary key. It is written to use the indexes of schema 001 and 002:
// exact Patient ID, Person Name (exact or prefix wildcard) per component
// group, StudyDate range, AccessionNumber, the instance UIDs, and the
// foreign-key indexes for the joins and for the related-count keys.
//
// Throws hokan::Error(kInvalidInput) naming the key for a request the
// rules refuse, hokan::Error(kInternal) when facility_ids is empty.
BuiltQuery BuildFindQuery(const FindRequest& request);

// The bounds of one C-FIND ([archive] find_max_matches and
// find_statement_timeout_ms, docs/configuration.md).
struct FindLimits {
  std::size_t max_matches = 0;                   // 0: no maximum
  std::chrono::milliseconds statement_timeout{0};  // 0: none
};

// How ForEachMatch ended.
enum class FindEnd {
  kCompleted,       // every match was handed over
  kStopped,         // the consumer returned false
  kTooManyMatches,  // more than max_matches: none was handed over
  kTimedOut,        // a statement ran past statement_timeout (matches may
                    // have been handed over before it)
};

// Answers C-FIND requests from the index in PostgreSQL. Thread-safe.
class QueryIndex {
 public:
  // `database` must outlive the index.
  explicit QueryIndex(Database& database);

  // Calls `each` with every match of `request`, one at a time, in a
  // deterministic order (by the primary key of the level's rows), until it
  // returns false. The matches come from a server-side cursor in one
  // read-only transaction, fetched a few hundred rows at a time: memory
  // does not grow with the number of matches. The transaction, and so one
  // pooled connection, is held while `each` runs (it may do network I/O).
  // With limits.max_matches, the statement is first evaluated up to one
  // row past it (on the server) and, when there are more matches than
  // that, none is handed over (kTooManyMatches). limits.statement_timeout
  // bounds each statement (planning and evaluation, each fetch);
  // PostgreSQL cancelling one ends the query with kTimedOut.
  // Throws hokan::Error(kInvalidInput) as BuildFindQuery does (before
  // touching the database) and hokan::Error(kDatabase) when PostgreSQL
  // fails; parameter values are never logged; exceptions from `each` pass
  // through. Never retried (`each` has effects).
  using MatchConsumer = std::function<bool(const FindMatch& match)>;
  FindEnd ForEachMatch(const FindRequest& request, const FindLimits& limits,
                       const MatchConsumer& each);

  // The stored instances a C-MOVE or C-GET selects, in study, series and
  // instance order, from one statement. Throws hokan::Error(kInvalidInput)
  // naming the missing key when the level's unique key is absent, and
  // hokan::Error(kDatabase) when PostgreSQL fails.
  std::vector<StoredInstance> FindInstancesToRetrieve(const RetrieveRequest& request);

 private:
  Database& database_;
};

}  // namespace hokan::archive
