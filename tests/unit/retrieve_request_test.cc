// scp/retrieve_handler: a C-MOVE / C-GET identifier's unique keys as a
// retrieve request.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "scp/retrieve_handler.h"

using hokan::archive::FindRequest;
using hokan::archive::InformationModel;
using hokan::archive::QueryLevel;
using hokan::archive::RetrieveRequest;
using hokan::scp::RetrieveRequestOf;

TEST_CASE("unique keys become lists; other keys and empty values are ignored") {
  FindRequest parsed;
  parsed.level = QueryLevel::kSeries;
  parsed.keys = {{0x0020000D, "1.2.3"},
                 {0x0020000E, "1.2.3.1\\1.2.3.2"},
                 {0x00080060, "CT"},
                 {0x00100020, ""}};
  RetrieveRequest request;
  CHECK(RetrieveRequestOf(parsed, InformationModel::kStudyRoot, "C-MOVE", &request).empty());
  CHECK(request.level == QueryLevel::kSeries);
  CHECK(request.model == InformationModel::kStudyRoot);
  CHECK(request.study_instance_uids == std::vector<std::string>{"1.2.3"});
  CHECK(request.series_instance_uids == std::vector<std::string>{"1.2.3.1", "1.2.3.2"});
  CHECK(request.patient_ids.empty());
  CHECK(request.sop_instance_uids.empty());
}

TEST_CASE("a wildcard in a unique key is refused, naming the operation") {
  FindRequest parsed;
  parsed.level = QueryLevel::kStudy;
  parsed.keys = {{0x0020000D, "1.2.*"}};
  RetrieveRequest request;
  CHECK(RetrieveRequestOf(parsed, InformationModel::kStudyRoot, "C-GET", &request) ==
        "wildcards are not allowed in C-GET keys");
}
