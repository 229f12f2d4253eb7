#include "archive/model/available_range.h"

#include <catch2/catch.hpp>

namespace hokan::archive {
namespace {

constexpr const char* kCt = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kBasicSr = "1.2.840.10008.5.1.4.1.1.88.11";
constexpr const char* kPdf = "1.2.840.10008.5.1.4.1.1.104.1";
constexpr const char* kCda = "1.2.840.10008.5.1.4.1.1.104.2";

TEST_CASE("report classes: every SR class, Encapsulated PDF and CDA", "[range]") {
  CHECK(IsReportSopClass(kBasicSr));
  CHECK(IsReportSopClass(kPdf));
  CHECK(IsReportSopClass(kCda));
  CHECK_FALSE(IsReportSopClass(kCt));
  CHECK_FALSE(IsReportSopClass("1.2.840.10008.5.1.4.1.1.88"));  // the prefix without a class
  CHECK(ReportSopClassSql("i.sop_class_uid") ==
        "(i.sop_class_uid LIKE '1.2.840.10008.5.1.4.1.1.88.%' OR i.sop_class_uid IN "
        "('1.2.840.10008.5.1.4.1.1.104.1', '1.2.840.10008.5.1.4.1.1.104.2'))");
}

TEST_CASE("in range: listed class or modality, reports only when included", "[range]") {
  const std::vector<std::string> classes = {kPdf};
  const std::vector<std::string> modalities = {"CT"};
  CHECK(InRange(classes, false, modalities, false, "CT", kCt));
  CHECK_FALSE(InRange(classes, false, modalities, false, "MR", kCt));
  CHECK(InRange({}, true, {}, false, "MR", kCt));
  CHECK_FALSE(InRange(classes, false, modalities, false, "CT", kPdf));  // a report, excluded
  CHECK(InRange(classes, false, modalities, true, "OT", kPdf));         // listed class
  CHECK_FALSE(InRange({}, true, {}, false, "SR", kBasicSr));
  CHECK(InRange({}, true, {}, true, "SR", kBasicSr));
}

TEST_CASE("in range as SQL: the same test on columns and parameters", "[range]") {
  CHECK(InRangeSql("i.c", "e.m", true, true, "", "") == "true");
  CHECK(InRangeSql("i.c", "e.m", false, true, "$1::text[]", "$2::text[]") ==
        "(i.c = ANY ($1::text[]) OR e.m = ANY ($2::text[]))");
  CHECK(InRangeSql("i.c", "e.m", true, false, "", "") == "NOT " + ReportSopClassSql("i.c"));
  CHECK(InRangeSql("i.c", "e.m", false, false, "$1::text[]", "$2::text[]") ==
        "NOT " + ReportSopClassSql("i.c") +
            " AND (i.c = ANY ($1::text[]) OR e.m = ANY ($2::text[]))");
}

}  // namespace
}  // namespace hokan::archive
