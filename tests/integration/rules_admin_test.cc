// `hokan rules add|list|delete|test` against a real database (migrated by
// a real hokan-archive): rules in evaluation order, what `rules test` says
// a file would get, deletion, and bad input that changes nothing.

#include "dcmtk/config/osconfig.h" // must come first

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

ArchiveOptions RulesOptions() {
  ArchiveOptions options;
  options.facilities = {{"clinic", {"IT_MODALITY"}, {}, {}, true},
                        {"other", {"OTHER_MODALITY"}, {}, {}, true},
                        {"nocontract", {"NOCONTRACT_MOD"}, {}, {}, false}};
  return options;
}

// `hokan` on one archive (archive_process.h's Admin).
struct AdminCommand {
  const ArchiveProcess &archive;
  ToolResult operator()(const std::vector<std::string> &arguments) const {
    return Admin(archive, arguments);
  }
};

std::string StudyDate(const fs::path &file) {
  DcmFileFormat format;
  REQUIRE(format.loadFile(file.c_str()).good());
  OFString date;
  REQUIRE(format.getDataset()->findAndGetOFString(DCM_StudyDate, date).good());
  return date.c_str();
}

// Midnight UTC of `dicom_date` (YYYYMMDD) plus `years`, as the archive
// counts it (Feb 29 becomes Feb 28 in a common year).
std::string PlusYears(const std::string &dicom_date, int years) {
  const int year = std::stoi(dicom_date.substr(0, 4)) + years;
  std::string month_day =
      dicom_date.substr(4, 2) + "-" + dicom_date.substr(6, 2);
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month_day == "02-29" && !leap)
    month_day = "02-28";
  return fmt::format("{:04}-{}T00:00:00Z", year, month_day);
}

// The id that "rule N added: ..." names.
std::string AddedId(const ToolResult &result) {
  const auto start = result.output.find("rule ");
  REQUIRE(start != std::string::npos);
  const auto end = result.output.find(' ', start + 5);
  return result.output.substr(start + 5, end - start - 5);
}

} // namespace

TEST_CASE("hokan rules: add, list in evaluation order, test a file, delete",
          "[rules]") {
  ArchiveProcess archive(RulesOptions());
  // The provisional contract keeps data forever; these tests want a period.
  archive.sql().Execute("UPDATE contracts SET default_storage_period = '10y'");
  const AdminCommand admin{archive};
  TempDir data("hokan-it-rules");
  const auto ct =
      MakeStudy(data.path() / "ct", {"--count", "1", "--seed", "1"});
  const auto mr = MakeStudy(
      data.path() / "mr", {"--count", "1", "--seed", "2", "--modality", "MR"});
  const std::string ct_file = ct[0].path.string();
  const std::string mr_file = mr[0].path.string();
  const std::string ct_date = StudyDate(ct[0].path);
  const std::string mr_date = StudyDate(mr[0].path);

  auto add = [&](const std::vector<std::string> &arguments) {
    std::vector<std::string> argv = {"rules", "add"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    const ToolResult result = admin(argv);
    INFO(result.Describe());
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output,
               Catch::StartsWith("rule ") && Catch::Contains(" added: "));
    return AddedId(result);
  };
  const std::string global_mr =
      add({"--name", "global MR 5y", "--global", "--when", "modality=MR",
           "--accept", "--period", "5y", "--by", "alice", "--reason",
           "radiology policy"});
  const std::string old_scanner =
      add({"--name", "refuse old scanner", "--global", "--when",
           "calling_ae=old_*", "--reject"});
  const std::string clinic_mr =
      add({"--name", "clinic MR 10y", "--facility", "clinic", "--when",
           "modality=MR", "--accept", "--period", "10y", "--tier", "cold"});
  // Inserted in front of the clinic's MR rule.
  const std::string clinic_chest =
      add({"--name", "clinic chest CT 7y", "--facility", "clinic", "--position",
           "1", "--when", "modality=CT", "--when", "body_part=CHEST", "--when",
           "patient_age_min=18", "--accept", "--period", "7y"});
  const std::string other_any =
      add({"--name", "other facility", "--facility", "other", "--when",
           "modality=MR", "--accept", "--period", "forever"});

  SECTION("rows, positions and audit as stored") {
    CHECK(archive.sql().Count("SELECT count(*) FROM storage_rules") == 5);
    CHECK(
        archive.sql().Value("SELECT position FROM storage_rules WHERE id = $1",
                            {clinic_chest}) == "1");
    CHECK(
        archive.sql().Value("SELECT position FROM storage_rules WHERE id = $1",
                            {clinic_mr}) == "2");
    CHECK(archive.sql().Value(
              "SELECT reject_status FROM storage_rules WHERE id = $1",
              {old_scanner}) == "292"); // 0x0124
    CHECK(archive.sql().Value(
              "SELECT storage_period || ' ' || tier FROM storage_rules"
              " WHERE id = $1",
              {clinic_mr}) == "10y cold");
    const auto audit =
        archive.sql().Query("SELECT actor, subject, detail, reason FROM "
                            "audit_log WHERE action = 'rule.add'"
                            " ORDER BY id");
    REQUIRE(audit.size() == 5);
    CHECK(*audit[0][0] == "alice");
    CHECK(*audit[0][1] == "rule " + global_mr);
    CHECK_THAT(*audit[0][2], Catch::Contains("global") &&
                                 Catch::Contains("modality=MR") &&
                                 Catch::Contains("period 5y"));
    CHECK(*audit[0][3] == "radiology policy");
  }

  SECTION("list shows the facility's rules, then the global ones") {
    const ToolResult listed =
        admin({"rules", "list", "--facility", "clinic", "--global"});
    INFO(listed.Describe());
    REQUIRE(listed.exit_code == 0);
    const std::string &out = listed.output;
    const auto chest = out.find("clinic chest CT 7y");
    const auto clinic = out.find("clinic MR 10y");
    const auto global = out.find("global MR 5y");
    const auto old = out.find("refuse old scanner");
    REQUIRE(chest != std::string::npos);
    REQUIRE(old != std::string::npos);
    CHECK(chest < clinic);
    CHECK(clinic < global);
    CHECK(global < old);
    CHECK(out.find("other facility") == std::string::npos);
    CHECK_THAT(out,
               Catch::Contains(
                   "modality=CT and body_part=CHEST and patient_age_min=18"));
    CHECK_THAT(out, Catch::Contains("reject 0x0124"));
    // Without options: every facility's and the global rules.
    CHECK_THAT(admin({"rules", "list"}).output,
               Catch::Contains("other facility"));
    // --global alone: only the global ones.
    const ToolResult globals = admin({"rules", "list", "--global"});
    CHECK(globals.output.find("clinic MR 10y") == std::string::npos);
    CHECK_THAT(globals.output, Catch::Contains("global MR 5y"));
  }

  SECTION("rules test names the deciding rule and the expiry; delete moves on "
          "to the next") {
    auto test = [&](const std::vector<std::string> &arguments) {
      std::vector<std::string> argv = {"rules", "test"};
      argv.insert(argv.end(), arguments.begin(), arguments.end());
      const ToolResult result = admin(argv);
      INFO(result.Describe());
      CHECK(result.exit_code == 0);
      return result.output;
    };
    std::string out = test({mr_file, "--facility", "clinic"});
    CHECK_THAT(out, Catch::Contains("decision: accept\n"));
    CHECK_THAT(out,
               Catch::Contains("rule: " + clinic_mr + " 'clinic MR 10y'\n"));
    CHECK_THAT(out,
               Catch::Contains("expires_at: " + PlusYears(mr_date, 10) + "\n"));
    CHECK_THAT(out, Catch::Contains("tier: cold\n"));
    CHECK_THAT(out, Catch::Contains("modality: MR\n"));
    CHECK_THAT(out, Catch::Contains("SOP class: 1.2.840.10008.5.1.4.1.1.4\n"));
    CHECK_THAT(out, Catch::Contains("body part: CHEST\n"));
    CHECK_THAT(out, Catch::Contains("study date: " + mr_date + "\n"));
    const int age = std::stoi(mr_date.substr(0, 4)) - 1970; // born 1970-01-01
    CHECK_THAT(out, Catch::Contains(fmt::format("patient age: {}\n", age)));

    out = test({ct_file, "--facility", "clinic"});
    CHECK_THAT(out, Catch::Contains("rule: " + clinic_chest +
                                    " 'clinic chest CT 7y'\n"));
    CHECK_THAT(out,
               Catch::Contains("expires_at: " + PlusYears(ct_date, 7) + "\n"));
    CHECK_THAT(out, Catch::Contains("tier: hot\n"));

    // Another facility: its own rule; the clinic's rules do not apply.
    out = test({mr_file, "--facility", "other"});
    CHECK_THAT(out,
               Catch::Contains("rule: " + other_any + " 'other facility'\n"));
    CHECK_THAT(out, Catch::Contains("expires_at: never\n"));

    // A calling AE the global reject rule names (AE titles ignore case);
    // the other facility's own rule is for MR only.
    out = test({ct_file, "--facility", "other", "--calling-ae", "OLD_CT"});
    CHECK_THAT(out, Catch::Contains("decision: refuse 0x0124\n"));
    CHECK_THAT(out, Catch::Contains("rule: " + old_scanner +
                                    " 'refuse old scanner'\n"));

    // The clinic's MR rule deleted: the global MR rule decides.
    const ToolResult deleted = admin({"rules", "delete", clinic_mr, "--by",
                                      "bob", "--reason", "policy change"});
    INFO(deleted.Describe());
    REQUIRE(deleted.exit_code == 0);
    CHECK_THAT(deleted.output,
               Catch::Contains("rule " + clinic_mr + " deleted"));
    out = test({mr_file, "--facility", "clinic"});
    CHECK_THAT(out,
               Catch::Contains("rule: " + global_mr + " 'global MR 5y'\n"));
    CHECK_THAT(out,
               Catch::Contains("expires_at: " + PlusYears(mr_date, 5) + "\n"));
    CHECK_THAT(out, Catch::Contains("tier: hot\n"));
    // ... and the global one deleted too: the contract's default (10y).
    REQUIRE(admin({"rules", "delete", global_mr}).exit_code == 0);
    out = test({mr_file, "--facility", "clinic"});
    CHECK_THAT(out, Catch::Contains("rule: contract default\n"));
    CHECK_THAT(out,
               Catch::Contains("expires_at: " + PlusYears(mr_date, 10) + "\n"));

    CHECK(archive.sql().Count("SELECT count(*) FROM storage_rules WHERE "
                              "deleted_at IS NOT NULL") == 2);
    const auto audit =
        archive.sql().Query("SELECT actor, subject, reason FROM audit_log "
                            "WHERE action = 'rule.delete' ORDER BY id");
    REQUIRE(audit.size() == 2);
    CHECK(*audit[0][0] == "bob");
    CHECK(*audit[0][1] == "rule " + clinic_mr);
    CHECK(*audit[0][2] == "policy change");
    // Deleted rules are listed only with --all, with their deletion time.
    CHECK(admin({"rules", "list"}).output.find("clinic MR 10y") ==
          std::string::npos);
    const ToolResult all = admin({"rules", "list", "--all"});
    CHECK_THAT(all.output, Catch::Contains("clinic MR 10y") &&
                               Catch::Contains("deleted_at"));
  }

  SECTION("a facility without a current contract would refuse") {
    const ToolResult result =
        admin({"rules", "test", ct_file, "--facility", "nocontract"});
    INFO(result.Describe());
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("has no current contract"));
    CHECK_THAT(result.output, Catch::Contains("decision: refuse 0x0124\n"));
  }

  SECTION("bad input exits 2, names the bad part and changes nothing") {
    const auto rules_before =
        archive.sql().Count("SELECT count(*) FROM storage_rules");
    const auto audit_before =
        archive.sql().Count("SELECT count(*) FROM audit_log");
    const auto positions_before =
        archive.sql().Value("SELECT string_agg(id || ':' || position, ',' "
                            "ORDER BY id) FROM storage_rules");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases =
        {
            {{"rules", "add", "--name", "x", "--global", "--when", "colour=red",
              "--accept"},
             "unknown condition key 'colour'"},
            {{"rules", "add", "--name", "x", "--global", "--when", "modality",
              "--accept"},
             "--when 'modality'"},
            {{"rules", "add", "--name", "x", "--global", "--when",
              "modality=C\\T", "--accept"},
             "backslash"},
            {{"rules", "add", "--name", "x", "--global", "--when",
              "modality=", "--accept"},
             "condition modality: the pattern is empty"},
            {{"rules", "add", "--name", "x", "--global", "--when",
              "patient_age_min=-1", "--accept"},
             "patient_age_min: '-1'"},
            {{"rules", "add", "--name", "x", "--global", "--when",
              "patient_age_min=30", "--when", "patient_age_max=20", "--accept"},
             "patient_age_min=30"},
            {{"rules", "add", "--name", "x", "--global", "--when",
              "patient_opted_out=maybe", "--accept"},
             "patient_opted_out: 'maybe'"},
            {{"rules", "add", "--name", "x", "--global", "--accept", "--period",
              "0y"},
             "storage period '0y'"},
            {{"rules", "add", "--name", "x", "--global", "--accept", "--period",
              "10w"},
             "storage period '10w'"},
            {{"rules", "add", "--name", "x", "--global", "--reject", "--status",
              "0x0001"},
             "--status 0x0001"},
            {{"rules", "add", "--name", "x", "--global", "--reject", "--status",
              "0xD000"},
             "--status 0xD000"},
            {{"rules", "add", "--name", "x", "--global", "--reject", "--status",
              "124"},
             "--status '124'"},
            {{"rules", "add", "--name", "x", "--global", "--reject", "--period",
              "5y"},
             "--period applies to --accept only"},
            {{"rules", "add", "--name", "x", "--global", "--accept", "--tier",
              "warm"},
             "--tier 'warm'"},
            {{"rules", "add", "--name", "x", "--facility", "nowhere",
              "--accept"},
             "unknown facility 'nowhere'"},
            {{"rules", "add", "--name", "x", "--facility", "clinic", "--global",
              "--accept"},
             "exactly one of --facility F and --global"},
            {{"rules", "add", "--name", "x", "--global"},
             "exactly one of --accept and --reject"},
            {{"rules", "add", "--global", "--accept"},
             "--name NAME is required"},
            {{"rules", "add", "--name", "x", "--global", "--accept",
              "--position", "0"},
             "position 0"},
            {{"rules", "delete", "99999"}, "no storage rule 99999"},
            {{"rules", "delete", "abc"}, "'abc' is not a rule ID"},
            {{"rules", "list", "--facility", "nowhere"},
             "unknown facility 'nowhere'"},
            {{"rules", "test", ct_file, "--facility", "nowhere"},
             "unknown facility 'nowhere'"},
            {{"rules", "test", (data.path() / "missing.dcm").string(),
              "--facility", "clinic"},
             "missing.dcm"},
            {{"rules", "test", ct_file}, "--facility F is required"},
            {{"rules", "test", ct_file, "--facility", "clinic", "--received",
              "yesterday"},
             "--received 'yesterday'"},
            {{"rules", "frobnicate"}, "unknown rules action 'frobnicate'"},
        };
    for (const auto &[arguments, message] : cases) {
      const ToolResult result = admin(arguments);
      INFO(result.Describe());
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.output, Catch::Contains(message));
    }
    // A file that is not DICOM.
    WriteFileBytes(data.path() / "note.txt", "not a DICOM file\n");
    const ToolResult not_dicom =
        admin({"rules", "test", (data.path() / "note.txt").string(),
               "--facility", "clinic"});
    INFO(not_dicom.Describe());
    CHECK(not_dicom.exit_code == 2);
    CHECK_THAT(not_dicom.output,
               Catch::Contains("note.txt: cannot read the DICOM header"));
    // Deleting twice.
    REQUIRE(admin({"rules", "delete", other_any}).exit_code == 0);
    const ToolResult again = admin({"rules", "delete", other_any});
    CHECK(again.exit_code == 2);
    CHECK_THAT(again.output, Catch::Contains("already deleted"));

    CHECK(archive.sql().Count("SELECT count(*) FROM storage_rules") ==
          rules_before);
    CHECK(archive.sql().Count("SELECT count(*) FROM audit_log") ==
          audit_before + 1);
    CHECK(archive.sql().Value(
              "SELECT string_agg(id || ':' || position, ',' ORDER BY id)"
              " FROM storage_rules") == positions_before);
  }
}

TEST_CASE("a C-STORE gets what `hokan rules test` predicts", "[rules]") {
  ArchiveProcess archive(RulesOptions());
  // The provisional contract keeps data forever; these tests want a period.
  archive.sql().Execute("UPDATE contracts SET default_storage_period = '10y'");
  const AdminCommand admin{archive};
  TempDir data("hokan-it-rules-store");
  const auto ct =
      MakeStudy(data.path() / "ct", {"--count", "1", "--seed", "3"});
  const auto mr = MakeStudy(
      data.path() / "mr", {"--count", "1", "--seed", "4", "--modality", "MR"});
  REQUIRE(admin({"rules", "add", "--name", "MR 10y cold", "--facility",
                 "clinic", "--when", "modality=MR", "--accept", "--period",
                 "10y", "--tier", "cold"})
              .exit_code == 0);
  REQUIRE(
      admin({"rules", "add", "--name", "no CT from it_*", "--global", "--when",
             "modality=CT", "--when", "calling_ae=it_*", "--reject"})
          .exit_code == 0);
  const std::string mr_rule = archive.sql().Value(
      "SELECT id FROM storage_rules WHERE name = 'MR 10y cold'");
  const std::string ct_rule = archive.sql().Value(
      "SELECT id FROM storage_rules WHERE name = 'no CT from it_*'");

  const ToolResult predicted_mr =
      admin({"rules", "test", mr[0].path.string(), "--facility", "clinic",
             "--calling-ae", "IT_MODALITY"});
  const ToolResult predicted_ct =
      admin({"rules", "test", ct[0].path.string(), "--facility", "clinic",
             "--calling-ae", "IT_MODALITY"});
  INFO(predicted_mr.Describe() << predicted_ct.Describe());
  const std::string mr_expiry = PlusYears(StudyDate(mr[0].path), 10);
  REQUIRE_THAT(predicted_mr.output,
               Catch::Contains("expires_at: " + mr_expiry + "\n") &&
                   Catch::Contains("rule: " + mr_rule + " 'MR 10y cold'"));
  REQUIRE_THAT(predicted_ct.output,
               Catch::Contains("decision: refuse 0x0124\n") &&
                   Catch::Contains("rule: " + ct_rule + " "));

  const ToolResult stored_mr =
      archive.StoreScu("IT_MODALITY", {"-d"}, {mr[0].path.string()});
  INFO(stored_mr.Describe());
  CHECK(DimseStatusesFromDebugOutput(stored_mr.output) ==
        std::vector<std::uint16_t>{0x0000});
  const auto rows =
      archive.sql().Query("SELECT to_char(expires_at AT TIME ZONE 'UTC', "
                          "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                          "       storage_rule_id::text, tier FROM instances "
                          "WHERE sop_instance_uid = $1",
                          {mr[0].sop_instance_uid});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == mr_expiry);
  CHECK(rows[0][1] == mr_rule);
  CHECK(rows[0][2] == "cold");

  const ToolResult stored_ct =
      archive.StoreScu("IT_MODALITY", {"-d"}, {ct[0].path.string()});
  INFO(stored_ct.Describe());
  CHECK(DimseStatusesFromDebugOutput(stored_ct.output) ==
        std::vector<std::uint16_t>{0x0124});
  CHECK(archive.sql().Count(
            "SELECT count(*) FROM instances WHERE sop_instance_uid = $1",
            {ct[0].sop_instance_uid}) == 0);
}

} // namespace hokan::integration
