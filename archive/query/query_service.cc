#include "archive/query/query_service.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::archive {

QueryOutcome QueryService::Find(const QueryScope& scope, FindRequest request,
                                const FindLimits& limits,
                                const QueryIndex::MatchConsumer& each) {
  request.facility_ids = {scope.facility_id};
  request.include_shared_patients = true;
  request.range = scope.range;
  QueryOutcome outcome;
  FindEnd end = FindEnd::kCompleted;
  try {
    end = index_.ForEachMatch(request, limits, [&](const FindMatch& match) {
      if (each(match)) {
        ++outcome.matches;
        return true;
      }
      outcome.status = QueryStatus::kStopped;
      return false;
    });
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kInvalidInput) {
      return {QueryStatus::kInvalidQuery, outcome.matches, error.what()};
    }
    Log(LogLevel::kError, "query for facility {}: {}", scope.facility_id, error.what());
    return {QueryStatus::kUnavailable, outcome.matches, "the index is unavailable; retry later"};
  }
  if (end == FindEnd::kTooManyMatches) {
    return {QueryStatus::kTooManyMatches, 0,
            fmt::format("more than {} matches (archive.find_max_matches)", limits.max_matches)};
  }
  if (end == FindEnd::kTimedOut) {
    Log(LogLevel::kWarn, "query for facility {}: stopped after {} ms, {} match(es) sent",
        scope.facility_id, limits.statement_timeout.count(), outcome.matches);
    return {QueryStatus::kTimedOut, outcome.matches,
            fmt::format("took over {} ms (archive.find_statement_timeout_ms)",
                        limits.statement_timeout.count())};
  }
  return outcome;
}

}  // namespace hokan::archive
