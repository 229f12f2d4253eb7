#include "archive/index/query_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"
#include "archive/model/query_attributes.h"

namespace hokan::archive {
namespace {

// The items of SequenceSql's two-dimensional array; each row's leading ''
// is dropped.
SequenceItems SequenceItemsOf(const pqxx::field& field) {
  SequenceItems items;
  pqxx::array_parser parser = field.as_array();
  int depth = 0;
  bool leading = false;
  for (auto next = parser.get_next(); next.first != pqxx::array_parser::done;
       next = parser.get_next()) {
    switch (next.first) {
      case pqxx::array_parser::row_start:
        if (++depth == 2) {
          items.emplace_back();
          leading = true;
        }
        break;
      case pqxx::array_parser::row_end:
        --depth;
        break;
      case pqxx::array_parser::null_value:
        items.back().emplace_back(std::nullopt);
        break;
      case pqxx::array_parser::string_value:
        if (leading) {
          leading = false;
        } else {
          items.back().emplace_back(std::move(next.second));
        }
        break;
      case pqxx::array_parser::done:
        break;
    }
  }
  return items;
}

// The rows a C-MOVE or C-GET retrieves: the same scope as C-FIND (own
// facilities, plus patients shared by an active grant when asked for);
// empty lists do not restrict. Not prepared: which lists are empty decides
// the plan (an index on the one given), which a generic plan cannot do.
constexpr const char* kRetrieveInstancesSql = R"sql(
SELECT i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.relative_path,
       s.study_instance_uid, COALESCE(e.modality, ''), p.facility_id,
       COALESCE(i.rows, 0), COALESCE(i.columns, 0)
  FROM instances i
  JOIN series e ON e.id = i.series_fk
  JOIN studies s ON s.id = e.study_fk
  JOIN patients p ON p.id = s.patient_fk
 WHERE (p.facility_id = ANY ($1::bigint[])
        OR ($2::boolean AND (p.facility_id, p.patient_id) IN (
              SELECT g.owner_facility_id, g.patient_id FROM sharing_grants g
               WHERE g.grantee_facility_id = ANY ($1::bigint[]) AND g.revoked_at IS NULL)))
   AND (cardinality($3::text[]) = 0 OR p.patient_id = ANY ($3::text[]))
   AND (cardinality($4::text[]) = 0 OR s.study_instance_uid = ANY ($4::text[]))
   AND (cardinality($5::text[]) = 0 OR e.series_instance_uid = ANY ($5::text[]))
   AND (cardinality($6::text[]) = 0 OR i.sop_instance_uid = ANY ($6::text[]))
 ORDER BY s.id, e.id, i.id)sql";

}  // namespace

QueryIndex::QueryIndex(Database& database) : database_(database) {}

std::vector<StoredInstance> QueryIndex::FindInstancesToRetrieve(const RetrieveRequest& request) {
  if (request.facility_ids.empty()) {
    throw Error(ErrorCode::kInternal, "a retrieve request needs a facility scope");
  }
  const struct {
    QueryLevel level;
    const std::vector<std::string>& values;
    const char* name;
  } required[] = {
      {QueryLevel::kPatient, request.patient_ids, "PatientID (0010,0020)"},
      {QueryLevel::kStudy, request.study_instance_uids, "StudyInstanceUID (0020,000D)"},
      {QueryLevel::kSeries, request.series_instance_uids, "SeriesInstanceUID (0020,000E)"},
      {QueryLevel::kImage, request.sop_instance_uids, "SOPInstanceUID (0008,0018)"},
  };
  for (const auto& key : required) {
    if (key.level == request.level && key.values.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{} is required at {} level", key.name,
                              QueryLevelName(request.level)));
    }
  }
  const std::string own = BigintArrayLiteral(request.facility_ids);
  return sql::ReadOnly(
      database_, fmt::format("retrieve at {} level", QueryLevelName(request.level)),
      [&](pqxx::read_transaction& transaction) {
        const pqxx::result result = transaction.exec_params(
            kRetrieveInstancesSql, own, request.include_shared_patients ? "true" : "false",
            TextArrayLiteral(request.patient_ids), TextArrayLiteral(request.study_instance_uids),
            TextArrayLiteral(request.series_instance_uids),
            TextArrayLiteral(request.sop_instance_uids));
        std::vector<StoredInstance> instances;
        instances.reserve(result.size());
        for (const auto& row : result) {
          StoredInstance instance;
          instance.sop_instance_uid = row[0].as<std::string>();
          instance.sop_class_uid = row[1].as<std::string>();
          instance.transfer_syntax_uid = row[2].as<std::string>();
          instance.relative_path = row[3].as<std::string>();
          instance.study_instance_uid = row[4].as<std::string>();
          instance.modality = row[5].as<std::string>();
          instance.facility_id = row[6].as<std::int64_t>();
          instance.rows = row[7].as<int>();
          instance.columns = row[8].as<int>();
          instances.push_back(std::move(instance));
        }
        return instances;
      });
}

namespace {

// C-FIND statements are index lookups of a few milliseconds: starting a
// parallel worker (about 20 ms on a small machine) and JIT compilation
// (10-20 ms) only add to them, yet the planner's cost estimates cross both
// thresholds with a large index (the one-month StudyDate query at ten
// million instances: 50 ms with both, 14 ms without). A cursor is planned
// for its first tenth by default (cursor_tuple_fraction), which trades the
// plans tuned for the whole result for fast-start ones: every match is
// read, so plan for all of them. For this transaction only; one round trip.
constexpr const char* kFindSettings =
    "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
    "SET LOCAL cursor_tuple_fraction = 1.0";

// Rows per FETCH: a few hundred matches in memory at a time (well under a
// megabyte) and one round trip per few hundred responses.
constexpr int kFetchRows = 256;

constexpr const char* kCursor = "hokan_find";

// PostgreSQL cancelled a statement (statement_timeout, SQLSTATE 57014).
// Not a pqxx exception, so the transaction helper lets it pass (and rolls
// back) instead of reporting a database failure.
struct StatementTimedOut {};

FindMatch MatchOf(const pqxx::row& row, const BuiltQuery& query) {
  FindMatch match;
  match.values.reserve(query.key_columns.size());
  match.sequences.resize(query.key_columns.size());
  for (std::size_t k = 0; k < query.key_columns.size(); ++k) {
    const int column = query.key_columns[k];
    if (column < 0) {
      match.values.emplace_back(std::nullopt);
    } else if (query.sequence_keys[k]) {
      match.values.emplace_back(std::string());
      match.sequences[k] = SequenceItemsOf(row[column]);
    } else {
      const pqxx::field field = row[column];
      match.values.emplace_back(field.is_null() ? std::string()
                                                : std::string(field.c_str(), field.size()));
    }
  }
  return match;
}

// Declares the cursor over `query` and hands its rows to `each`, kFetchRows
// at a time. With a maximum, the cursor is scrollable: MOVE evaluates the
// statement up to one row past the maximum on the server (nothing is sent
// here), and MOVE ABSOLUTE 0 rewinds it when the count is within bounds.
FindEnd StreamMatches(pqxx::read_transaction& transaction, const BuiltQuery& query,
                      const FindLimits& limits, const QueryIndex::MatchConsumer& each) {
  std::string settings = kFindSettings;
  if (limits.statement_timeout.count() > 0) {
    settings += fmt::format("; SET LOCAL statement_timeout = {}", limits.statement_timeout.count());
  }
  transaction.exec(settings);
  const bool capped = limits.max_matches > 0;
  transaction.exec_params(fmt::format("DECLARE {} {} CURSOR FOR {}", kCursor,
                                      capped ? "SCROLL" : "NO SCROLL", query.sql),
                          pqxx::prepare::make_dynamic_params(query.params));
  const std::string fetch = fmt::format("FETCH FORWARD {} FROM {}", kFetchRows, kCursor);
  std::string next = fetch;
  if (capped) {
    const pqxx::result moved =
        transaction.exec(fmt::format("MOVE FORWARD {} IN {}", limits.max_matches + 1, kCursor));
    if (static_cast<std::size_t>(moved.affected_rows()) > limits.max_matches) {
      return FindEnd::kTooManyMatches;
    }
    next = fmt::format("MOVE ABSOLUTE 0 IN {}; {}", kCursor, fetch);  // one round trip
  }
  for (;;) {
    const pqxx::result rows = transaction.exec(next);
    next = fetch;
    for (const auto& row : rows) {
      if (!each(MatchOf(row, query))) return FindEnd::kStopped;
    }
    if (rows.size() < static_cast<pqxx::result::size_type>(kFetchRows)) {
      return FindEnd::kCompleted;
    }
  }
}

}  // namespace

FindEnd QueryIndex::ForEachMatch(const FindRequest& request, const FindLimits& limits,
                                 const MatchConsumer& each) {
  const BuiltQuery query = BuildFindQuery(request);
  sql::TransactionPolicy policy{fmt::format("C-FIND at {} level", QueryLevelName(request.level))};
  policy.retry = false;  // `each` sends responses
  try {
    return sql::Transact<pqxx::read_transaction>(
        database_, policy, [&](pqxx::read_transaction& transaction) {
          try {
            return StreamMatches(transaction, query, limits, each);
          } catch (const pqxx::sql_error& error) {
            if (error.sqlstate() == "57014") throw StatementTimedOut{};  // query_canceled
            throw;
          }
        });
  } catch (const StatementTimedOut&) {
    return FindEnd::kTimedOut;
  }
}

}  // namespace hokan::archive
