#include "archive/query/query_service.h"

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::archive {

QueryOutcome QueryService::Find(const QueryScope& scope, FindRequest request,
                                const QueryIndex::MatchConsumer& each) {
  request.facility_ids = {scope.facility_id};
  request.include_shared_patients = true;
  request.range = scope.range;
  QueryOutcome outcome;
  try {
    index_.ForEachMatch(request, [&](const FindMatch& match) {
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
  return outcome;
}

}  // namespace hokan::archive
