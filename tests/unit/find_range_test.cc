// A purpose's available range in the C-FIND statement (BuildFindQuery with
// FindRequest::range): conditions per level, always parameterised.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "archive/index/query_index.h"
#include "billing/purposes.h"
#include "scp/archive_scp.h"

using hokan::archive::BuildFindQuery;
using hokan::archive::FindRequest;
using hokan::archive::QueryLevel;
using hokan::archive::RangeFilter;

namespace {

FindRequest RequestAt(QueryLevel level, std::vector<hokan::archive::QueryKey> keys) {
  FindRequest request;
  request.level = level;
  request.keys = std::move(keys);
  request.facility_ids = {3};
  return request;
}

bool HasParam(const std::vector<std::string>& params, const std::string& value) {
  return std::find(params.begin(), params.end(), value) != params.end();
}

}  // namespace

TEST_CASE("without a range the statement is unchanged") {
  const FindRequest request = RequestAt(QueryLevel::kStudy, {{0x0020000D, ""}});
  FindRequest with_range = request;
  with_range.range = RangeFilter{{"CT"}, {}, false, false};
  const auto plain = BuildFindQuery(request);
  const auto ranged = BuildFindQuery(with_range);
  CHECK(plain.sql.find("modalities_in_study &&") == std::string::npos);
  CHECK(ranged.sql.find("s.modalities_in_study && $") != std::string::npos);
  CHECK((HasParam(ranged.params, "{\"CT\"}") || HasParam(ranged.params, "{CT}")));
  CHECK(ranged.params.size() == plain.params.size() + 1);
}

TEST_CASE("range conditions per level") {
  const RangeFilter ct{{"CT", "MR"}, {}, false, false};
  struct Case {
    QueryLevel level;
    std::uint32_t key;
    const char* expected;
  };
  for (const Case& c : {Case{QueryLevel::kPatient, 0x00100020, "r.modalities_in_study && $"},
                        Case{QueryLevel::kStudy, 0x0020000D, "s.modalities_in_study && $"},
                        Case{QueryLevel::kSeries, 0x0020000E, "e.modality = ANY ($"},
                        Case{QueryLevel::kImage, 0x00080018, "e.modality = ANY ($"}}) {
    FindRequest request = RequestAt(c.level, {{c.key, ""}});
    request.model = hokan::archive::InformationModel::kPatientRoot;
    request.range = ct;
    const auto query = BuildFindQuery(request);
    INFO(query.sql);
    CHECK(query.sql.find(c.expected) != std::string::npos);
    // No value of the range is written into the SQL.
    CHECK(query.sql.find("'MR'") == std::string::npos);
  }
}

TEST_CASE("reports are excluded at image level unless the range allows them") {
  FindRequest request = RequestAt(QueryLevel::kImage, {{0x00080018, ""}});
  request.range = RangeFilter{{}, {}, true, false};
  CHECK(BuildFindQuery(request).sql.find("NOT (i.sop_class_uid LIKE") != std::string::npos);
  // Every modality: no modality condition at any level.
  CHECK(BuildFindQuery(request).sql.find("e.modality = ANY") == std::string::npos);
  request.range->include_reports = true;
  CHECK(BuildFindQuery(request).sql.find("NOT (i.sop_class_uid LIKE") == std::string::npos);
}

TEST_CASE("an available range becomes the query's range filter") {
  hokan::billing::AvailableRange range;
  range.modalities = {"*", "CT"};
  range.sop_class_uids = {"1.2.840.10008.5.1.4.1.1.88.11"};
  range.may_retrieve_reports = true;
  const RangeFilter filter = hokan::scp::RangeFilterOf(range);
  CHECK(filter.every_modality);
  CHECK(filter.modalities == std::vector<std::string>{"CT"});
  CHECK(filter.sop_class_uids == range.sop_class_uids);
  CHECK(filter.include_reports);
}
