// archive/retrieve: what a purpose lets a caller receive, in which form, and
// how deliveries group into per-study records (fee events).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "archive/retrieve/retrieve_service.h"

using hokan::archive::Delivery;
using hokan::archive::DeliveryForm;
using hokan::archive::DeliveryResult;
using hokan::archive::FormUnder;
using hokan::archive::RangeFilter;
using hokan::archive::RangeIncludes;
using hokan::archive::RetrievalPlan;
using hokan::archive::RetrievalRange;
using hokan::archive::StoredInstance;
using hokan::archive::StudiesOf;

namespace {

const std::string kCt = "1.2.840.10008.5.1.4.1.1.2";
const std::string kSr = "1.2.840.10008.5.1.4.1.1.88.11";
const std::string kPdf = "1.2.840.10008.5.1.4.1.1.104.1";

RetrievalRange Limits(std::optional<int> rows, std::optional<int> columns, bool lossy) {
  RetrievalRange range;
  range.purpose_id = 7;
  range.max_rows = rows;
  range.max_columns = columns;
  range.lossy_only = lossy;
  return range;
}

Delivery Of(std::int64_t facility, const std::string& study, const std::string& modality) {
  StoredInstance instance;
  instance.facility_id = facility;
  instance.study_instance_uid = study;
  instance.modality = modality;
  return {instance, DeliveryForm::kAsStored};
}

}  // namespace

TEST_CASE("the range includes listed classes, listed modalities, reports only when allowed") {
  RangeFilter filter;
  filter.modalities = {"CT"};
  filter.sop_class_uids = {kSr};
  CHECK(RangeIncludes(filter, "CT", kCt));
  CHECK_FALSE(RangeIncludes(filter, "MR", kCt));
  CHECK_FALSE(RangeIncludes(filter, "SR", kSr));  // listed, but reports are not allowed
  CHECK_FALSE(RangeIncludes(filter, "CT", kPdf));
  filter.include_reports = true;
  CHECK(RangeIncludes(filter, "SR", kSr));
  CHECK_FALSE(RangeIncludes(filter, "DOC", kPdf));
  filter.every_modality = true;
  CHECK(RangeIncludes(filter, "MR", kCt));
  CHECK(RangeIncludes(filter, "DOC", kPdf));
}

TEST_CASE("an image goes derived when it exceeds the limits or the range is lossy only") {
  const auto limits = Limits(128, 128, false);
  CHECK(FormUnder(std::nullopt, 4096, 4096) == DeliveryForm::kAsStored);
  CHECK(FormUnder(limits, 128, 128) == DeliveryForm::kAsStored);
  CHECK(FormUnder(limits, 129, 128) == DeliveryForm::kDerived);
  CHECK(FormUnder(limits, 128, 129) == DeliveryForm::kDerived);
  CHECK(FormUnder(limits, 0, 0) == DeliveryForm::kAsStored);  // not an image
  CHECK(FormUnder(Limits(std::nullopt, std::nullopt, true), 16, 16) == DeliveryForm::kDerived);
  CHECK(FormUnder(Limits(std::nullopt, std::nullopt, false), 4096, 4096) ==
        DeliveryForm::kAsStored);
}

TEST_CASE("deliveries group per study in the order sent; untried ones are left out") {
  RetrievalPlan plan;
  plan.deliveries = {Of(1, "1.1", "CT"), Of(1, "1.2", "MR"), Of(1, "1.1", "CT"),
                     Of(2, "1.1", "CT"), Of(1, "1.3", "US")};
  const std::vector<DeliveryResult> results = {
      DeliveryResult::kFailed, DeliveryResult::kDelivered, DeliveryResult::kDelivered,
      DeliveryResult::kDelivered, DeliveryResult::kNotAttempted};
  const auto studies = StudiesOf(plan, results);
  REQUIRE(studies.size() == 3);
  CHECK(studies[0].facility_id == 1);
  CHECK(studies[0].study_instance_uid == "1.1");
  CHECK(studies[0].delivered == 1);
  CHECK(studies[0].failed == 1);
  CHECK(studies[0].modality == "CT");
  CHECK(studies[1].study_instance_uid == "1.2");
  CHECK(studies[1].delivered == 1);
  CHECK(studies[2].facility_id == 2);  // the same UID of another owner is another study
  CHECK(studies[2].delivered == 1);
}

TEST_CASE("a study with only failures has no modality for pricing") {
  RetrievalPlan plan;
  plan.deliveries = {Of(1, "1.1", "CT")};
  const auto studies = StudiesOf(plan, {DeliveryResult::kFailed});
  REQUIRE(studies.size() == 1);
  CHECK(studies[0].delivered == 0);
  CHECK(studies[0].failed == 1);
  CHECK(studies[0].modality.empty());
}
