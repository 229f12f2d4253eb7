#include <catch2/catch.hpp>

#include "archive/ingest/ingest_service.h"

using hokan::archive::IngestStatus;
using hokan::archive::StoreRequest;
using hokan::archive::ValidateStoreRequest;

namespace {

StoreRequest ValidRequest() {
  StoreRequest request;
  request.facility_id = 1;
  request.calling_ae = "DEMO_MODALITY";
  request.requested_sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  request.requested_sop_instance_uid = "1.2.3.4.5";
  request.attributes.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  request.attributes.sop_instance_uid = "1.2.3.4.5";
  request.attributes.study_instance_uid = "1.2.3";
  request.attributes.series_instance_uid = "1.2.3.4";
  request.attributes.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  return request;
}

}  // namespace

TEST_CASE("a complete request passes validation") {
  CHECK(ValidateStoreRequest(ValidRequest()).status == IngestStatus::kStored);
}

TEST_CASE("validation failures name the attribute and map to the right outcome") {
  struct Case {
    const char* description;
    void (*change)(StoreRequest&);
    IngestStatus expected;
    const char* message_part;
  };
  const Case cases[] = {
      {"missing study UID", [](StoreRequest& r) { r.attributes.study_instance_uid.clear(); },
       IngestStatus::kInvalidDataSet, "StudyInstanceUID"},
      {"missing series UID", [](StoreRequest& r) { r.attributes.series_instance_uid.clear(); },
       IngestStatus::kInvalidDataSet, "SeriesInstanceUID"},
      {"path traversal SOP UID",
       [](StoreRequest& r) {
         r.attributes.sop_instance_uid = "../../etc/passwd";
         r.requested_sop_instance_uid = "../../etc/passwd";
       },
       IngestStatus::kInvalidDataSet, "SOPInstanceUID"},
      {"65-character SOP UID",
       [](StoreRequest& r) {
         r.attributes.sop_instance_uid = "1." + std::string(63, '2');
         r.requested_sop_instance_uid = r.attributes.sop_instance_uid;
       },
       IngestStatus::kInvalidDataSet, "not a valid UID"},
      {"instance differs from request",
       [](StoreRequest& r) { r.requested_sop_instance_uid = "1.2.3.4.6"; },
       IngestStatus::kRequestMismatch, "SOPInstanceUID"},
      {"class differs from request",
       [](StoreRequest& r) { r.requested_sop_class_uid = "1.2.840.10008.5.1.4.1.1.4"; },
       IngestStatus::kRequestMismatch, "SOPClassUID"},
      {"missing class", [](StoreRequest& r) { r.attributes.sop_class_uid.clear(); },
       IngestStatus::kInvalidDataSet, "SOPClassUID"},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    StoreRequest request = ValidRequest();
    c.change(request);
    const auto result = ValidateStoreRequest(request);
    CHECK(result.status == c.expected);
    CHECK_THAT(result.message, Catch::Contains(c.message_part));
  }
}
