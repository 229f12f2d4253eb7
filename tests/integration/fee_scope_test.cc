// Who pays for a retrieval, against a real archive (issue 14, fees): a
// patient one facility shares with another by a sharing grant is charged
// to the facility whose caller retrieved it, with the owner recorded
// beside it; a C-MOVE whose requestor goes away after its first
// sub-operations is charged for what was delivered, with one audit row.

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <csignal>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

constexpr const char* kClockBase = "2031-05-01T10:00:00Z";

// Purpose "diagnosis" on HOKAN_DX, 1000 JPY an exam, granted to `viewer`.
void AddDiagnosis(ArchiveProcess& archive, const std::string& viewer) {
  auto& sql = archive.sql();
  const std::string now = archive.ClockNow();
  sql.Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, created_at, updated_at) "
      "VALUES ('diagnosis', 'HOKAN_DX', '{*}', $1, $1)",
      {now});
  sql.Execute(
      "INSERT INTO purpose_grants (purpose_id, facility_id, ae_title, granted_at) "
      "SELECT p.id, e.facility_id, e.ae_title, $1 FROM purposes p, application_entities e "
      " WHERE e.ae_title = $2 AND e.role <> 'destination'",
      {now, viewer});
  sql.Execute(
      "INSERT INTO fee_schedules (purpose_id, modality, amount_minor, currency, effective_from, "
      "                           created_at) "
      "SELECT id, NULL, 1000, 'JPY', DATE '2000-01-01', $1 FROM purposes",
      {now});
}

std::vector<std::string> MoveArguments(const ArchiveProcess& archive, const std::string& viewer,
                                       const std::string& study_uid) {
  return {"movescu", "-d", "-S", "-to", "5", "-ta", "10", "-td", "60",
          "-aet", viewer, "-aec", "HOKAN_DX", "-aem", viewer,
          "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study_uid,
          "localhost", std::to_string(archive.port())};
}

int LastCompleted(const std::string& output) {
  const std::regex pattern(R"(Completed Suboperations\s*:\s*(\d+))");
  std::string last;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    last = (*it)[1];
  }
  return last.empty() ? -1 : std::stoi(last);
}

std::string FacilityId(ArchiveProcess& archive, const std::string& name) {
  return archive.sql().Value("SELECT id::text FROM facilities WHERE name = $1", {name});
}

}  // namespace

TEST_CASE("a retrieval of a shared patient is charged to the caller's facility, the owner "
          "recorded beside it", "[fees]") {
  TempDir data("hokan-it-fee-scope");
  StoreScpDestination destination;
  ArchiveOptions options;
  options.controlled_clock = true;
  options.initial_clock = kClockBase;
  // The extra lines go to the first facility's section: west's destination.
  options.facilities = {{"west", {"WEST_MODALITY"}, {}, {"WEST_VIEWER"}},
                        {"east", {"EAST_MODALITY"}, {}, {"EAST_VIEWER"}}};
  options.extra_facility_lines = {"move_destinations = WEST_VIEWER@127.0.0.1:" +
                                  std::to_string(destination.port())};
  ArchiveProcess archive(options);
  AddDiagnosis(archive, "WEST_VIEWER");

  MakeStudy(data.path() / "east", {"--count", "3", "--patient-id", "P-SHARED"});
  const ToolResult stored = RunTool({"storescu", "+sd", "-aet", "EAST_MODALITY", "-aec",
                                     archive.ae_title(), "localhost",
                                     std::to_string(archive.port()),
                                     (data.path() / "east").string()});
  INFO(stored.Describe() << "\narchive log:\n" << archive.Log());
  REQUIRE(stored.exit_code == 0);
  const std::string study_uid = archive.sql().Value("SELECT study_instance_uid FROM studies");
  const std::string east = FacilityId(archive, "east");
  const std::string west = FacilityId(archive, "west");

  const ToolResult granted =
      Admin(archive, {"grant", "add", "--owner", "east", "--grantee", "west", "--patient-id",
                      "P-SHARED", "--reason", "second opinion"});
  INFO(granted.Describe());
  REQUIRE(granted.exit_code == 0);

  const ToolResult moved = RunTool(MoveArguments(archive, "WEST_VIEWER", study_uid));
  INFO(moved.Describe());
  REQUIRE(LastCompleted(moved.output) == 3);
  CHECK(destination.Received().size() == 3);

  auto rows = archive.sql().Query(
      "SELECT facility_id::text, owner_facility_id::text, amount_minor::text, "
      "instances_delivered::text, calling_ae FROM fee_events");
  REQUIRE(rows.size() == 1);
  CHECK(*rows[0][0] == west);  // the caller's facility pays
  CHECK(*rows[0][1] == east);  // the owner beside it
  CHECK(*rows[0][2] == "1000");
  CHECK(*rows[0][3] == "3");
  CHECK(*rows[0][4] == "WEST_VIEWER");
  CHECK(archive.sql().Value("SELECT facility || '/' || owner_facility FROM billing.fee_lines") ==
        "west/east");
  CHECK(archive.sql().Count("SELECT count(*) FROM billing.invoice_lines "
                            "WHERE kind = 'exam_fee' AND facility = 'east'") == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM billing.invoice_lines "
                            "WHERE kind = 'exam_fee' AND facility = 'west'") == 1);
  rows = archive.sql().Query(
      "SELECT facility_id::text, detail FROM audit_log WHERE action = 'retrieve'");
  REQUIRE(rows.size() == 1);
  CHECK(*rows[0][0] == west);
  CHECK_THAT(*rows[0][1], Catch::Contains("shared by facility " + east));

  // A C-GET of the same study the same day adds to the same event.
  TempDir got("hokan-it-fee-scope-get");
  const ToolResult get = RunTool({"getscu", "-S", "-to", "5", "-ta", "10", "-td", "60", "-aet",
                                  "WEST_VIEWER", "-aec", "HOKAN_DX", "-od", got.path().string(),
                                  "-k", "QueryRetrieveLevel=STUDY", "-k",
                                  "StudyInstanceUID=" + study_uid, "localhost",
                                  std::to_string(archive.port())});
  INFO(get.Describe());
  CHECK(ListFilesRecursive(got.path()).size() == 3);
  CHECK(archive.sql().Value("SELECT facility_id || '/' || owner_facility_id || ' ' || "
                            "instances_delivered FROM fee_events") ==
        west + "/" + east + " 6");
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'retrieve'") == 2);
}

TEST_CASE("a C-MOVE whose requestor goes away is charged for the sub-operations delivered",
          "[fees]") {
  TempDir data("hokan-it-fee-abort");
  // Each store takes a second at the destination, so the requestor is gone
  // long before the last of the 8 sub-operations.
  StoreScpDestination destination({"--sleep-after", "1"});
  ArchiveOptions options;
  options.controlled_clock = true;
  options.initial_clock = kClockBase;
  options.facilities = {{"clinic", {"IT_MODALITY"}, {}, {"IT_VIEWER"}}};
  options.extra_facility_lines = {"move_destinations = IT_VIEWER@127.0.0.1:" +
                                  std::to_string(destination.port())};
  ArchiveProcess archive(options);
  AddDiagnosis(archive, "IT_VIEWER");
  MakeStudy(data.path() / "study", {"--count", "8"});
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "study").string()})
              .exit_code == 0);
  const std::string study_uid = archive.sql().Value("SELECT study_instance_uid FROM studies");

  BackgroundProcess mover(MoveArguments(archive, "IT_VIEWER", study_uid),
                          data.path() / "movescu.log", data.path());
  REQUIRE(WaitUntil([&] { return destination.Received().size() >= 2; }, 60s));
  mover.Stop(SIGKILL);

  INFO("archive log:\n" << archive.Log());
  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'retrieve'") ==
               1;
      },
      60s));
  const std::size_t delivered = destination.Received().size();
  CHECK(delivered >= 2);
  CHECK(delivered < 8);
  CHECK(archive.sql().Value("SELECT instances_delivered::text FROM fee_events") ==
        std::to_string(delivered));
  CHECK(archive.sql().Value("SELECT amount_minor::text FROM fee_events") == "1000");
  CHECK_THAT(archive.sql().Value("SELECT detail FROM audit_log WHERE action = 'retrieve'"),
             Catch::Contains(std::to_string(delivered) + " instance(s) delivered") &&
                 Catch::Contains("ended early"));
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'retrieve'") == 1);
}

}  // namespace hokan::integration
