// The pure rules of the deluxe offline export: when a day's export is due,
// its job payload, the folder name and the ISO 9660 file IDs on the media.
#include "archive/export/export_schedule.h"

#include <catch2/catch.hpp>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

TimePoint At(const std::string& utc) { return *ParseUtc(utc); }

TEST_CASE("an export is due from export_at plus the settle time, once per UTC day", "[export]") {
  struct Case {
    const char* now;
    const char* export_at;
    bool due;
    const char* cut_off;
    const char* key;
  } cases[] = {
      {"2026-11-22T01:59:59Z", "02:00:00", false, "", ""},
      {"2026-11-22T02:00:30Z", "02:00:00", false, "", ""},  // settling
      {"2026-11-22T02:01:00Z", "02:00:00", true, "2026-11-22T02:00:00Z",
       "offline-export:7:2026-11-22"},
      {"2026-11-22T23:59:59Z", "02:00", true, "2026-11-22T02:00:00Z",
       "offline-export:7:2026-11-22"},
      {"2026-11-23T00:00:00Z", "23:30:00", false, "", ""},
      {"2026-11-23T00:00:00Z", "00:00:00", false, "", ""},
      {"2026-11-23T00:01:00Z", "00:00:00", true, "2026-11-23T00:00:00Z",
       "offline-export:7:2026-11-23"},
  };
  for (const auto& c : cases) {
    INFO(c.now << " export_at " << c.export_at);
    const auto due = DueExportFor(7, c.export_at, At(c.now));
    REQUIRE(due.has_value() == c.due);
    if (!c.due) continue;
    CHECK(FormatUtc(due->cut_off) == c.cut_off);
    CHECK(due->dedupe_key == c.key);
  }
}

TEST_CASE("a bad export time is refused with a message naming it", "[export]") {
  for (const char* bad : {"", "2", "24:00", "12:60", "1200", "12:00:61", "ab:cd"}) {
    INFO(bad);
    try {
      DueExportFor(3, bad, At("2026-11-22T12:00:00Z"));
      FAIL("accepted");
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kInvalidInput);
      CHECK(std::string(error.what()).find("facility 3") != std::string::npos);
    }
  }
}

TEST_CASE("cut-offs keep microseconds through text and the job payload", "[export]") {
  const TimePoint cut_off = At("2026-11-22T19:40:05Z") + std::chrono::microseconds(123456);
  CHECK(FormatCutOff(cut_off) == "2026-11-22T19:40:05.123456Z");
  CHECK(ParseCutOff("2026-11-22T19:40:05.123456Z") == cut_off);
  CHECK(ParseCutOff("2026-11-22T19:40:05.5Z") ==
        At("2026-11-22T19:40:05Z") + std::chrono::milliseconds(500));
  CHECK(ParseCutOff("2026-11-22T19:40:05Z") == At("2026-11-22T19:40:05Z"));
  CHECK_FALSE(ParseCutOff("2026-11-22T19:40:05.Z"));
  CHECK_FALSE(ParseCutOff("2026-11-22T19:40:05.1234567Z"));
  CHECK_FALSE(ParseCutOff("yesterday"));

  const std::string payload = ExportPayload({42, cut_off});
  CHECK(payload == R"({"facility_id": 42, "cut_off": "2026-11-22T19:40:05.123456Z"})");
  const ExportRequest parsed = ParseExportPayload(payload);
  CHECK(parsed.facility_id == 42);
  CHECK(parsed.cut_off == cut_off);
  // jsonb prints keys in its own order.
  const ExportRequest reordered =
      ParseExportPayload(R"({"cut_off": "2026-11-22T02:00:00.000000Z", "facility_id": 5})");
  CHECK(reordered.facility_id == 5);
  CHECK(reordered.cut_off == At("2026-11-22T02:00:00Z"));
  for (const char* bad : {"{}", R"({"facility_id": 5})", R"({"cut_off": "2026-11-22T02:00:00Z"})",
                          R"({"facility_id": "5", "cut_off": "2026-11-22T02:00:00Z"})",
                          R"({"facility_id": 5, "cut_off": "tomorrow"})"}) {
    INFO(bad);
    CHECK_THROWS_AS(ParseExportPayload(bad), Error);
  }
}

TEST_CASE("the media folder is named after the cut-off, to the second", "[export]") {
  CHECK(ExportFolderName(At("2026-11-22T02:00:00Z") + std::chrono::microseconds(999999)) ==
        "20261122T020000Z");
}

TEST_CASE("media file IDs number studies, series and instances IHE style", "[export]") {
  MediaLayout layout;
  CHECK(layout.StudyFolder().empty());
  CHECK(layout.Next("1.1", "1.1.1") == "DICOM/ST000001/SE000001/IM000001");
  CHECK(layout.Next("1.1", "1.1.1") == "DICOM/ST000001/SE000001/IM000002");
  CHECK(layout.Next("1.1", "1.1.2") == "DICOM/ST000001/SE000002/IM000001");
  CHECK(layout.StudyFolder() == "DICOM/ST000001");
  CHECK(layout.Next("1.2", "1.2.1") == "DICOM/ST000002/SE000001/IM000001");
  CHECK(layout.StudyFolder() == "DICOM/ST000002");
  // Every component is an ISO 9660 file ID: at most 8 of A-Z, 0-9, _.
  const std::string id = layout.Next("1.2", "1.2.1");
  std::size_t start = 0;
  while (start <= id.size()) {
    const std::size_t end = std::min(id.find('/', start), id.size());
    CHECK(end - start <= 8);
    for (std::size_t i = start; i < end; ++i) {
      CHECK(((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'));
    }
    start = end + 1;
  }
}

}  // namespace
}  // namespace hokan::archive
