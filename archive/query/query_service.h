#pragma once

// The query service: C-FIND (and, next, QIDO-RS) keys in, matches out, one
// at a time. Any edge calls it with plain values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "archive/index/query_index.h"
#include "archive/model/find_request.h"

namespace hokan::archive {

// Who asks: the caller's facility (its patients and those shared with it)
// and, under a purpose, the range it may see.
struct QueryScope {
  std::int64_t facility_id = 0;
  std::optional<RangeFilter> range;  // nullopt: no purpose, no range
};

enum class QueryStatus {
  kCompleted,     // every match was handed over
  kStopped,       // the consumer returned false
  kInvalidQuery,  // the matching rules refuse a key (message names it)
  kUnavailable,   // the index failed (logged); retry later
  kTooManyMatches,  // more than limits.max_matches; none was handed over
  kTimedOut,        // a statement ran past limits.statement_timeout
};

struct QueryOutcome {
  QueryStatus status = QueryStatus::kCompleted;
  std::size_t matches = 0;  // the consumer took (returned true for)
  std::string message;      // every status but kCompleted, kStopped: why
};

// Thread-safe; never throws for the index's failures (they are outcomes).
class QueryService {
 public:
  // `index` must outlive the service.
  explicit QueryService(QueryIndex& index) : index_(index) {}

  // Runs `request` within `scope` (its facility_ids, shared patients and
  // range are set from the scope) and hands each match to `each`, in the
  // index's order, until it returns false, within `limits`
  // (QueryIndex::ForEachMatch). Nothing is collected: memory does not grow
  // with the number of matches. The messages of kTooManyMatches and
  // kTimedOut name the limit and its configuration key (in under 64
  // characters: they become an Error Comment).
  QueryOutcome Find(const QueryScope& scope, FindRequest request, const FindLimits& limits,
                    const QueryIndex::MatchConsumer& each);

 private:
  QueryIndex& index_;
};

}  // namespace hokan::archive
