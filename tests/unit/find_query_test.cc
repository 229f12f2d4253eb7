#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "archive/common/error.h"
#include "archive/index/query_index.h"
#include "archive/index/key_match.h"

using hokan::Error;
using hokan::ErrorCode;
using hokan::archive::BuildFindQuery;
using hokan::archive::BuiltQuery;
using hokan::archive::FindRequest;
using hokan::archive::InformationModel;
using hokan::archive::QueryKey;
using hokan::archive::QueryLevel;

namespace {

constexpr auto kPatientRoot = InformationModel::kPatientRoot;
constexpr auto kStudyRoot = InformationModel::kStudyRoot;
constexpr auto kPatient = QueryLevel::kPatient;
constexpr auto kStudy = QueryLevel::kStudy;
constexpr auto kSeries = QueryLevel::kSeries;
constexpr auto kImage = QueryLevel::kImage;

constexpr std::uint32_t kPatientName = 0x00100010;
constexpr std::uint32_t kPatientId = 0x00100020;
constexpr std::uint32_t kPatientBirthDate = 0x00100030;
constexpr std::uint32_t kStudyInstanceUid = 0x0020000D;
constexpr std::uint32_t kStudyDate = 0x00080020;
constexpr std::uint32_t kStudyTime = 0x00080030;
constexpr std::uint32_t kAccessionNumber = 0x00080050;
constexpr std::uint32_t kStudyDescription = 0x00081030;
constexpr std::uint32_t kReferringPhysician = 0x00080090;
constexpr std::uint32_t kModalitiesInStudy = 0x00080061;
constexpr std::uint32_t kStudyRelatedInstances = 0x00201208;
constexpr std::uint32_t kSeriesInstanceUid = 0x0020000E;
constexpr std::uint32_t kModality = 0x00080060;
constexpr std::uint32_t kSeriesNumber = 0x00200011;
constexpr std::uint32_t kSopInstanceUid = 0x00080018;
constexpr std::uint32_t kSopClassUid = 0x00080016;
constexpr std::uint32_t kRows = 0x00280010;

FindRequest Request(InformationModel model, QueryLevel level, std::vector<QueryKey> keys) {
  FindRequest request;
  request.model = model;
  request.level = level;
  request.keys = std::move(keys);
  request.facility_ids = {7, 12};
  return request;
}

std::size_t CountOf(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The parameters after the scope ($1).
std::vector<std::string> MatchParams(const BuiltQuery& query) {
  return std::vector<std::string>(query.params.begin() + 1, query.params.end());
}

}  // namespace

const std::string kPatientPerRow =
    "JOIN LATERAL (SELECT * FROM patients p WHERE p.id = s.patient_fk OFFSET 0) p ON true\n";

TEST_CASE("every level drives from its table, scopes it and orders by id") {
  struct Case {
    InformationModel model;
    QueryLevel level;
    std::string from;
    std::string alias;
  };
  const std::vector<Case> cases = {
      {kPatientRoot, kPatient, "FROM patients p\n", "p"},
      {kPatientRoot, kStudy, "FROM studies s\n" + kPatientPerRow, "s"},
      {kStudyRoot, kStudy, "FROM studies s\n" + kPatientPerRow, "s"},
      {kStudyRoot, kSeries, "FROM series e\nJOIN studies s ON s.id = e.study_fk\n", "e"},
      {kPatientRoot, kImage, "FROM instances i\nJOIN series e ON e.id = i.series_fk\n", "i"},
  };
  for (const auto& c : cases) {
    const BuiltQuery query = BuildFindQuery(Request(c.model, c.level, {}));
    INFO(query.sql);
    CHECK(query.sql.find(c.from) != std::string::npos);
    CHECK(query.sql.find("WHERE " + c.alias + ".facility_id = ANY ($1::bigint[])\nORDER BY " +
                         c.alias + ".id") != std::string::npos);
    REQUIRE(query.params.size() == 1);
    CHECK(query.params[0] == "{7,12}");
  }
}

TEST_CASE("patients are joined by row unless a key matches on them") {
  for (const QueryLevel level : {kStudy, kSeries, kImage}) {
    const BuiltQuery by_row =
        BuildFindQuery(Request(kStudyRoot, level, {{kStudyDate, "20210101-20210131"}}));
    INFO(by_row.sql);
    CHECK(by_row.sql.find(kPatientPerRow) != std::string::npos);
    CHECK(by_row.sql.find("JOIN patients p") == std::string::npos);
    const BuiltQuery joined = BuildFindQuery(Request(kStudyRoot, level, {{kPatientId, "PID-1"}}));
    INFO(joined.sql);
    CHECK(joined.sql.find("JOIN patients p ON p.id = s.patient_fk\n") != std::string::npos);
    CHECK(joined.sql.find("LATERAL") == std::string::npos);
  }
}

TEST_CASE("a joined table is scoped too when a key matches on it") {
  const BuiltQuery query = BuildFindQuery(Request(
      kPatientRoot, kImage, {{kPatientId, "PID-1"}, {kSeriesInstanceUid, "1.2"}, {kStudyDate, ""}}));
  INFO(query.sql);
  CHECK(query.sql.find("WHERE i.facility_id = ANY ($1::bigint[])\n"
                       "  AND e.facility_id = ANY ($1::bigint[])\n"
                       "  AND p.facility_id = ANY ($1::bigint[])\n"
                       "  AND p.patient_id = $2::text\n"
                       "  AND e.series_instance_uid = $3::text\n") != std::string::npos);
  CHECK(query.sql.find("s.facility_id") == std::string::npos);
}

TEST_CASE("each matching type becomes one parameterised condition") {
  struct Case {
    InformationModel model;
    QueryLevel level;
    std::uint32_t tag;
    std::string value;
    std::vector<std::string> conditions;  // fragments of the SQL
    std::vector<std::string> params;      // after the scope
  };
  const std::vector<Case> cases = {
      // Single values and wildcards on strings (case-sensitive).
      {kPatientRoot, kPatient, kPatientId, "PID-1", {"p.patient_id = $2::text"}, {"PID-1"}},
      {kPatientRoot, kPatient, kPatientId, "PID*", {"p.patient_id LIKE $2::text ESCAPE '\\'"},
       {"PID%"}},
      {kStudyRoot, kStudy, kPatientId, "PID-1", {"p.patient_id = $2::text"}, {"PID-1"}},
      {kStudyRoot, kStudy, kAccessionNumber, "A1?3*",
       {"s.accession_number LIKE $2::text ESCAPE '\\'"}, {"A1_3%"}},
      {kStudyRoot, kSeries, kModality, "CT", {"e.modality = $2::text"}, {"CT"}},
      {kPatientRoot, kSeries, kModality, "C*", {"e.modality LIKE $2::text ESCAPE '\\'"}, {"C%"}},
      {kStudyRoot, kSeries, kSeriesNumber, "3", {"e.series_number = $2::text"}, {"3"}},
      {kStudyRoot, kImage, kRows, "512", {"i.rows = $2::integer"}, {"512"}},
      // Person names: per component group, case-insensitive.
      {kStudyRoot, kStudy, kPatientName, "Yamada^Tarou",
       {"(p.patient_name_search_alphabetic = lower($2::text) OR "
        "p.patient_name_search_ideographic = lower($2::text) OR "
        "p.patient_name_search_phonetic = lower($2::text))"},
       {"Yamada^Tarou"}},
      {kPatientRoot, kPatient, kPatientName, "山田*",
       {"p.patient_name_search_alphabetic LIKE lower($2::text) ESCAPE '\\' OR",
        "p.patient_name_search_phonetic LIKE lower($2::text) ESCAPE '\\')"},
       {"山田%"}},
      {kStudyRoot, kStudy, kPatientName, "Doe^John^^  ", {"alphabetic = lower($2::text)"},
       {"Doe^John"}},
      {kStudyRoot, kStudy, kPatientName, "Yamada^Tarou=山田^太郎=やまだ^たろう",
       {"lower(p.patient_name) = lower($2::text)"}, {"Yamada^Tarou=山田^太郎=やまだ^たろう"}},
      {kStudyRoot, kStudy, kReferringPhysician, "smith*",
       {"rtrim(split_part(lower(s.referring_physician_name), '=', 2), '^ ') LIKE "
        "lower($2::text) ESCAPE '\\'"},
       {"smith%"}},
      // UIDs: single value or list.
      {kStudyRoot, kStudy, kStudyInstanceUid, "1.2.3", {"s.study_instance_uid = $2::text"},
       {"1.2.3"}},
      {kStudyRoot, kStudy, kStudyInstanceUid, "1.2.3\\1.2.4",
       {"s.study_instance_uid = ANY ($2::text[])"}, {"{\"1.2.3\",\"1.2.4\"}"}},
      {kPatientRoot, kImage, kSeriesInstanceUid, "1.2.5", {"e.series_instance_uid = $2::text"},
       {"1.2.5"}},
      {kStudyRoot, kImage, kSopInstanceUid, "1.2.6\\1.2.7\\",
       {"i.sop_instance_uid = ANY ($2::text[])"}, {"{\"1.2.6\",\"1.2.7\"}"}},
      {kStudyRoot, kImage, kSopClassUid, "1.2.840.10008.5.1.4.1.1.2",
       {"i.sop_class_uid = $2::text"}, {"1.2.840.10008.5.1.4.1.1.2"}},
      // Dates and times: single values and ranges, compared in byte order.
      {kStudyRoot, kStudy, kStudyDate, "20250131", {"s.study_date COLLATE \"C\" = $2::text"},
       {"20250131"}},
      {kStudyRoot, kStudy, kStudyDate, "20250101-20250131",
       {"s.study_date COLLATE \"C\" >= $2::text", "s.study_date COLLATE \"C\" <= $3::text"},
       {"20250101", "20250131"}},
      {kStudyRoot, kSeries, kStudyDate, "20250101-", {"s.study_date COLLATE \"C\" >= $2::text"},
       {"20250101"}},
      {kStudyRoot, kStudy, kStudyDate, "-20250131",
       {"s.study_date COLLATE \"C\" > ''", "s.study_date COLLATE \"C\" <= $2::text"},
       {"20250131"}},
      {kPatientRoot, kPatient, kPatientBirthDate, "19500101-19601231",
       {"p.patient_birth_date COLLATE \"C\" >= $2::text"}, {"19500101", "19601231"}},
      {kStudyRoot, kStudy, kStudyTime, "0830",
       {"s.study_time COLLATE \"C\" >= $2::text", "s.study_time COLLATE \"C\" <= $3::text"},
       {"0830", "083059.999999"}},
      {kStudyRoot, kStudy, kStudyTime, "08-101500.5", {"s.study_time COLLATE \"C\" <= $3::text"},
       {"08", "101500.599999"}},
      // Modalities in study: any listed modality.
      {kStudyRoot, kStudy, kModalitiesInStudy, "CT\\MR", {"s.modalities_in_study && $2::text[]"},
       {"{\"CT\",\"MR\"}"}},
      {kPatientRoot, kStudy, kModalitiesInStudy, "CT\\M?",
       {"(s.modalities_in_study && $3::text[] OR EXISTS (SELECT 1 FROM "
        "unnest(s.modalities_in_study) AS m(code) WHERE m.code LIKE $2::text ESCAPE '\\'))"},
       {"M_", "{\"CT\"}"}},
  };
  for (const auto& c : cases) {
    const BuiltQuery query = BuildFindQuery(Request(c.model, c.level, {{c.tag, c.value}}));
    INFO(query.sql);
    for (const auto& condition : c.conditions) {
      CHECK(query.sql.find(condition) != std::string::npos);
    }
    CHECK(MatchParams(query) == c.params);
    CHECK(query.key_columns == std::vector<int>{1});
    if (c.value.size() >= 4) {  // values only as parameters
      CHECK(query.sql.find(c.value) == std::string::npos);
    }
  }
}

TEST_CASE("quotes, LIKE metacharacters and backslashes stay in the parameters") {
  const std::string value = "O'Brien 100%_a\\b*";
  for (const std::uint32_t tag : {kPatientName, kStudyDescription, kAccessionNumber}) {
    const BuiltQuery query = BuildFindQuery(Request(kStudyRoot, kStudy, {{tag, value}}));
    INFO(query.sql);
    CHECK(query.sql.find("O'Brien") == std::string::npos);
    CHECK(query.sql.find("100") == std::string::npos);
    REQUIRE(MatchParams(query).size() == 1);
    CHECK(MatchParams(query)[0] == "O'Brien 100\\%\\_a\\\\b%");
  }
  // Without a wildcard the value is compared as it is.
  const BuiltQuery exact =
      BuildFindQuery(Request(kStudyRoot, kStudy, {{kStudyDescription, "50%_x\\y'"}}));
  CHECK(MatchParams(exact) == std::vector<std::string>{"50%_x\\y'"});
  CHECK(exact.sql.find("s.study_description = $2::text") != std::string::npos);
}

TEST_CASE("universal keys are returned without a condition") {
  for (const std::string value : {"", "*", "  "}) {
    INFO("value '" << value << "'");
    const BuiltQuery query = BuildFindQuery(Request(
        kStudyRoot, kStudy, {{kPatientName, value}, {kStudyDate, value}, {kStudyInstanceUid, value}}));
    CHECK(query.params.size() == 1);
    CHECK(CountOf(query.sql, "\n  AND ") == 0);  // only the scope of s
    CHECK(query.key_columns == std::vector<int>{1, 2, 3});
    CHECK(query.sql.find("p.patient_name,\n       s.study_date,\n       s.study_instance_uid") !=
          std::string::npos);
  }
  // A date range open at both ends is any date.
  CHECK(BuildFindQuery(Request(kStudyRoot, kStudy, {{kStudyDate, "-"}})).params.size() == 1);
}

TEST_CASE("unknown tags and keys below the query level are nullopt columns without a condition") {
  const BuiltQuery query = BuildFindQuery(Request(
      kPatientRoot, kStudy,
      {{0x00091001, "private*"}, {kStudyDate, "20250101"}, {kSeriesInstanceUid, ""},
       {0x00321060, "Requested procedure"}, {kStudyRelatedInstances, ""}}));
  INFO(query.sql);
  CHECK(query.key_columns == std::vector<int>{-1, 1, -1, -1, 2});
  CHECK(MatchParams(query) == std::vector<std::string>{"20250101"});
  CHECK(query.sql.find("series_instance_uid") == std::string::npos);
  CHECK(query.sql.find("s.number_of_instances::text") != std::string::npos);
}

TEST_CASE("keys of higher levels are returned by joining up") {
  const BuiltQuery query = BuildFindQuery(
      Request(kPatientRoot, kImage,
              {{kPatientId, "PID-1"}, {kStudyInstanceUid, "1.2"}, {kSeriesInstanceUid, "1.2.3"},
               {kSopInstanceUid, ""}, {kPatientName, ""}, {kModality, ""}, {kRows, ""}}));
  INFO(query.sql);
  CHECK(query.key_columns == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
  CHECK(MatchParams(query) == std::vector<std::string>{"PID-1", "1.2", "1.2.3"});
  CHECK(query.sql.find("COALESCE(i.rows::text, '')") != std::string::npos);
}

TEST_CASE("requests the rules refuse name the key and the cause") {
  struct Case {
    InformationModel model;
    QueryLevel level;
    std::uint32_t tag;
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {kStudyRoot, kStudy, kStudyInstanceUid, "1.2.*",
       "StudyInstanceUID (0020,000D): wildcard not allowed in a UID: '1.2.*'"},
      {kStudyRoot, kImage, kSopClassUid, "1.2.840.1000?", "SOPClassUID (0008,0016): wildcard"},
      {kStudyRoot, kStudy, kStudyDate, "20260101-20250101",
       "StudyDate (0008,0020): range '20260101-20250101' has its ends reversed"},
      {kStudyRoot, kStudy, kStudyTime, "1000-0800",
       "StudyTime (0008,0030): range '1000-0800' has its ends reversed"},
      {kStudyRoot, kStudy, kStudyDate, "20250230", "StudyDate (0008,0020): '20250230' is not a date"},
      {kStudyRoot, kStudy, kStudyDate, "2025-01-01", "is not a date"},
      {kStudyRoot, kStudy, kStudyDate, "202501*", "wildcard not allowed in a date"},
      {kStudyRoot, kStudy, kStudyDate, "20250101-2025013", "'2025013' is not a date"},
      {kStudyRoot, kStudy, kStudyTime, "2500", "StudyTime (0008,0030): '2500' is not a time"},
      {kStudyRoot, kStudy, kStudyTime, "08:30", "is not a time"},
      {kStudyRoot, kStudy, kStudyTime, "083000.1234567", "is not a time"},
      {kStudyRoot, kImage, kRows, "big", "Rows (0028,0010): 'big' is not a decimal integer"},
      {kStudyRoot, kSeries, kSeriesNumber, "1*", "SeriesNumber (0020,0011): wildcard"},
      {kStudyRoot, kStudy, kStudyRelatedInstances, "3", "return key only"},
      {kStudyRoot, kStudy, kSeriesInstanceUid, "1.2.3",
       "SeriesInstanceUID (0020,000E): a SERIES key cannot be matched in a STUDY-level query"},
      {kPatientRoot, kPatient, kStudyDate, "20250101", "a STUDY key cannot be matched in a PATIENT"},
      {kPatientRoot, kStudy, kPatientId, "PID*",
       "PatientID (0010,0020): the unique key of the PATIENT level must be a single value"},
      {kStudyRoot, kSeries, kStudyInstanceUid, "1.2\\1.3",
       "StudyInstanceUID (0020,000D): the unique key of the STUDY level"},
      {kPatientRoot, kImage, kSeriesInstanceUid, "1.2\\1.3", "SeriesInstanceUID (0020,000E)"},
      {kStudyRoot, kStudy, kPatientName, std::string(64 * 1024 + 1, 'a'),
       "PatientName (0010,0010): value is longer than 65536 bytes"},
      {kStudyRoot, kStudy, kPatientId, std::string("a\0b", 3), "NUL"},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    const FindRequest request = Request(c.model, c.level, {{c.tag, c.value}});
    CHECK_THROWS_WITH(BuildFindQuery(request), Catch::Contains(c.message));
    try {
      BuildFindQuery(request);
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kInvalidInput);
    }
  }
}

TEST_CASE("Study Root has no PATIENT level") {
  CHECK_THROWS_WITH(BuildFindQuery(Request(kStudyRoot, kPatient, {})),
                    "Study Root has no PATIENT level");
}

TEST_CASE("higher-level keys other than unique keys may match freely") {
  // Study Root has no patient unique key: a Patient ID wildcard is fine.
  CHECK_NOTHROW(BuildFindQuery(Request(kStudyRoot, kSeries, {{kPatientId, "PID*"}})));
  CHECK_NOTHROW(BuildFindQuery(Request(kPatientRoot, kImage, {{kPatientName, "Doe*"}})));
  CHECK_NOTHROW(BuildFindQuery(Request(kPatientRoot, kSeries, {{kPatientId, "*"}})));
}

TEST_CASE("a value of exactly 64 KiB is accepted") {
  const BuiltQuery query = BuildFindQuery(
      Request(kStudyRoot, kStudy, {{kPatientName, std::string(64 * 1024, 'a')}}));
  CHECK(MatchParams(query)[0].size() == 64 * 1024);
}

TEST_CASE("a request without a facility scope is a programming error") {
  FindRequest request = Request(kStudyRoot, kStudy, {});
  request.facility_ids.clear();
  try {
    BuildFindQuery(request);
    FAIL("no exception");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kInternal);
  }
}

TEST_CASE("DICOM dates and times are validated and time bounds padded") {
  using hokan::archive::IsDicomDate;
  using hokan::archive::IsDicomTime;
  using hokan::archive::TimeUpperBound;
  CHECK(IsDicomDate("20240229"));
  CHECK_FALSE(IsDicomDate("20230229"));
  CHECK_FALSE(IsDicomDate("19001301"));
  CHECK(IsDicomTime("23"));
  CHECK(IsDicomTime("235960"));
  CHECK(IsDicomTime("083015.123456"));
  CHECK_FALSE(IsDicomTime("083"));
  CHECK_FALSE(IsDicomTime("083015."));
  CHECK(TimeUpperBound("08") == "085959.999999");
  CHECK(TimeUpperBound("0830") == "083059.999999");
  CHECK(TimeUpperBound("083015") == "083015.999999");
  CHECK(TimeUpperBound("083015.5") == "083015.599999");
}

namespace {

constexpr std::uint32_t kProcedureCodeSequence = 0x00081032;
constexpr std::uint32_t kCodeValue = 0x00080100;
constexpr std::uint32_t kCodeMeaning = 0x00080104;
constexpr std::uint32_t kRequestAttributesSequence = 0x00400275;
constexpr std::uint32_t kRequestedProcedureId = 0x00401001;

QueryKey Sequence(std::uint32_t tag, std::vector<QueryKey> item) {
  QueryKey key(tag);
  key.sequence = true;
  key.item = std::move(item);
  return key;
}

}  // namespace

TEST_CASE("a sequence key matches one stored item on all its sub-keys and returns them") {
  const BuiltQuery query = BuildFindQuery(Request(
      kStudyRoot, kStudy,
      {Sequence(kProcedureCodeSequence,
                {{kCodeValue, "RP'17"}, {kCodeMeaning, "CT*"}, {0x00080105, "DCMR"}})}));
  INFO(query.sql);
  CHECK(query.key_columns == std::vector<int>{1});
  CHECK(query.sequence_keys == std::vector<bool>{true});
  CHECK(MatchParams(query) == std::vector<std::string>{"RP'17", "CT%"});
  // Both sub-keys must hold for the same item.
  CHECK(query.sql.find("EXISTS (SELECT 1 FROM jsonb_array_elements(s.procedure_codes) WITH "
                       "ORDINALITY AS t(item, n) WHERE (item ->> 'CodeValue') = $2::text AND "
                       "(item ->> 'CodeMeaning') LIKE $3::text ESCAPE '\\')") !=
        std::string::npos);
  // Returned: the matching items; a sub-key the index does not keep is NULL.
  CHECK(query.sql.find("ARRAY(SELECT ARRAY['', COALESCE((item ->> 'CodeValue'), ''), "
                       "COALESCE((item ->> 'CodeMeaning'), ''), NULL] FROM") !=
        std::string::npos);
  CHECK(query.sql.find("RP'17") == std::string::npos);
}

TEST_CASE("a sequence key with universal sub-keys is a return key only") {
  const BuiltQuery query = BuildFindQuery(Request(
      kStudyRoot, kSeries,
      {Sequence(kRequestAttributesSequence, {{kRequestedProcedureId, ""}}),
       {kStudyInstanceUid, "1.2"}}));
  INFO(query.sql);
  CHECK(MatchParams(query) == std::vector<std::string>{"1.2"});
  CHECK(query.sql.find("EXISTS") == std::string::npos);
  CHECK(query.sql.find("jsonb_array_elements(e.request_attributes)") != std::string::npos);
}

TEST_CASE("sequence keys the rules refuse name the key") {
  auto refused = [](FindRequest request) {
    try {
      BuildFindQuery(request);
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kInvalidInput);
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  // A sequence below the query level with a value in its item.
  CHECK_THAT(refused(Request(kStudyRoot, kStudy,
                             {Sequence(kRequestAttributesSequence,
                                       {{kRequestedProcedureId, "RP1"}})})),
             Catch::Contains("RequestAttributesSequence (0040,0275)"));
  // A malformed sub-key value (a wildcard in a UID).
  CHECK_THAT(refused(Request(kStudyRoot, kSeries,
                             {Sequence(kRequestAttributesSequence,
                                       {{kStudyInstanceUid, "1.2.*"}})})),
             Catch::Contains("StudyInstanceUID (0020,000D)"));
  // A supported sequence sent as a plain value.
  CHECK_THAT(refused(Request(kStudyRoot, kStudy, {{kProcedureCodeSequence, "x"}})),
             Catch::Contains("ProcedureCodeSequence (0008,1032): must be sent as a sequence"));
}
