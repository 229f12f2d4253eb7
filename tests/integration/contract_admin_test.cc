// The `hokan` administration commands for contracts, patient choices, legal
// holds, usage and the audit trail, against a real archive and database:
// what the administrator sees (exit codes, output) and what PostgreSQL
// holds afterwards (rows counted with psql-style queries).

#include <catch2/catch.hpp>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

constexpr const char* kNow = "2026-11-22T12:00:00Z";

// Two facilities without the provisional contract; the archive's (and the
// command's) clock is fixed at kNow.
ArchiveOptions ContractOptions() {
  ArchiveOptions options;
  options.facilities = {{"clinic", {"CLINIC_MODALITY"}, {}, {}, false},
                        {"annex", {"ANNEX_MODALITY"}, {}, {}, false}};
  options.controlled_clock = true;
  options.initial_clock = kNow;
  return options;
}

// A complete, valid `contract add` for `facility` over 2026.
std::vector<std::string> Add2026(const std::string& facility) {
  // clang-format off
  return {"contract", "add", "--facility", facility,
          "--service-period", "annual", "--start", "2026-01-01", "--end", "2026-12-31",
          "--backup-timing", "on-receipt", "--data-kept", "all", "--quota", "500G",
          "--service-class", "economy", "--storage-period", "10y",
          "--by", "alice", "--reason", "signed 2025-12-01"};
  // clang-format on
}

// Rows that any refused command must leave as they were.
std::string Snapshot(ArchiveProcess& archive) {
  return archive.sql().Value(
      "SELECT (SELECT count(*) FROM contracts) || '/' || "
      "       (SELECT count(*) FROM contracts WHERE superseded_at IS NULL) || '/' || "
      "       (SELECT count(*) FROM patient_choices) || '/' || "
      "       (SELECT count(*) FROM studies WHERE legal_hold) || '/' || "
      "       (SELECT count(*) FROM audit_log)");
}

// Replaces the value following `option` in `arguments` (or removes the
// option and its value when `value` is empty).
std::vector<std::string> With(std::vector<std::string> arguments, const std::string& option,
                              const std::string& value) {
  for (auto it = arguments.begin(); it != arguments.end(); ++it) {
    if (*it != option) continue;
    if (value.empty()) {
      arguments.erase(it, it + 2);
    } else {
      *(it + 1) = value;
    }
    return arguments;
  }
  if (!value.empty()) {
    arguments.push_back(option);
    arguments.push_back(value);
  }
  return arguments;
}

}  // namespace

TEST_CASE("contracts are added, shown, changed and ended with their history kept",
          "[contract_admin]") {
  ArchiveProcess archive(ContractOptions());
  archive.SetClock(kNow);

  const ToolResult added = Admin(archive, Add2026("clinic"));
  INFO(added.Describe());
  REQUIRE(added.exit_code == 0);
  const std::string first = archive.sql().Value("SELECT id FROM contracts");
  CHECK_THAT(added.output, Catch::Contains("contract " + first + " added to facility clinic"));
  CHECK_THAT(added.output, Catch::Contains("quota 500 GiB"));
  CHECK(archive.sql().Value("SELECT quota_bytes || ' ' || backup_timing || ' ' || created_by "
                            "  FROM contracts") == "536870912000 on_receipt alice");

  SECTION("bad input exits 2, names the option and writes nothing") {
    const std::string before = Snapshot(archive);
    const auto annex = Add2026("annex");
    const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
        {With(annex, "--end", "2025-12-31"), "--end 2025-12-31 is before --start 2026-01-01"},
        {With(annex, "--start", "2026-02-30"), "--start '2026-02-30'"},
        {With(annex, "--backup-timing", "nightly"), "--nightly-at"},
        {With(annex, "--nightly-at", "03:00"), "--nightly-at only goes with"},
        {With(annex, "--data-kept", "per-modality"), "--modalities"},
        {With(annex, "--quota", "0"), "--quota '0'"},
        {With(annex, "--quota", "-1G"), "--quota"},
        {With(annex, "--quota", "lots"), "--quota 'lots'"},
        {With(annex, "--storage-period", "ten years"), "--storage-period"},
        {With(annex, "--service-period", "weekly"), "--service-period 'weekly'"},
        {With(annex, "--facility", "nowhere"), "unknown facility 'nowhere'"},
        {With(annex, "--quota", ""), "--quota is required"},
        {With(annex, "--color", "blue"), "--color"},
        // Overlaps the clinic's contract: names it and its dates.
        {With(Add2026("clinic"), "--start", "2026-12-01"),
         "overlaps contract " + first + " (2026-01-01..2026-12-31)"},
        {{"contract", "change", first}, "needs at least one option"},
        {{"contract", "change", first, "--quota", "500G"}, "change nothing"},
        {{"contract", "change", "999", "--quota", "1T"}, "no contract 999"},
        {{"contract", "change", "abc", "--quota", "1T"}, "contract ID 'abc'"},
        {{"contract", "end", first, "--on", "2025-06-30"}, "--on 2025-06-30 is before"},
        {{"contract", "end", first, "--on", "tomorrow"}, "--on 'tomorrow'"},
        {{"contract", "end", first}, "needs --on"},
        {{"contract", "show"}, "needs --facility"},
        {{"contract", "renew"}, "unknown contract action 'renew'"},
    };
    for (const auto& [arguments, message] : refused) {
      const ToolResult result = Admin(archive, arguments);
      INFO(result.Describe());
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.output, Catch::Contains(message));
    }
    CHECK(Snapshot(archive) == before);
  }

  SECTION("show, change, end and list") {
    const ToolResult shown = Admin(archive, {"contract", "show", "--facility", "clinic"});
    INFO(shown.Describe());
    REQUIRE(shown.exit_code == 0);
    CHECK_THAT(shown.output, Catch::Contains("facility clinic on 2026-11-22"));
    CHECK_THAT(shown.output, Catch::Contains("current contract " + first));
    CHECK_THAT(shown.output, Catch::Contains("accounting points  10 (1 year x 10)"));
    CHECK_THAT(shown.output, Catch::Contains("quota              500 GiB (536870912000 bytes)"));

    const ToolResult changed =
        Admin(archive, {"contract", "change", first, "--quota", "1T", "--backup-timing", "nightly",
                        "--nightly-at", "03:00", "--service-class", "deluxe", "--by", "bob",
                        "--reason", "more modalities"});
    INFO(changed.Describe());
    REQUIRE(changed.exit_code == 0);
    const std::string second =
        archive.sql().Value("SELECT id FROM contracts WHERE superseded_at IS NULL");
    CHECK(second != first);
    CHECK_THAT(changed.output,
               Catch::Contains("contract " + second + " replaces contract " + first));
    CHECK(archive.sql().Count("SELECT count(*) FROM contracts") == 2);
    CHECK(archive.sql().Value("SELECT superseded_by FROM contracts WHERE id = $1", {first}) ==
          second);
    // The old version keeps its terms; the new one has the change and the defaults.
    CHECK(archive.sql().Value("SELECT quota_bytes FROM contracts WHERE id = $1", {first}) ==
          "536870912000");
    CHECK(archive.sql().Value("SELECT quota_bytes || ' ' || nightly_at || ' ' || export_at "
                              "  FROM contracts WHERE id = $1",
                              {second}) == "1099511627776 03:00:00 02:00:00");
    // The superseded version cannot be changed any more.
    const ToolResult stale = Admin(archive, {"contract", "change", first, "--quota", "2T"});
    CHECK(stale.exit_code == 2);
    CHECK_THAT(stale.output, Catch::Contains("superseded by contract " + second));

    const ToolResult ended = Admin(archive, {"contract", "end", second, "--on", "2026-12-15",
                                             "--reason", "clinic moves", "--by", "carol"});
    INFO(ended.Describe());
    REQUIRE(ended.exit_code == 0);
    const std::string third =
        archive.sql().Value("SELECT id FROM contracts WHERE superseded_at IS NULL");
    CHECK(archive.sql().Count("SELECT count(*) FROM contracts") == 3);
    CHECK(archive.sql().Value("SELECT ends_on FROM contracts WHERE id = $1", {third}) ==
          "2026-12-15");
    CHECK_THAT(ended.output, Catch::Contains("ends on 2026-12-15"));

    // A monthly contract right after the end no longer overlaps.
    auto monthly =
        With(With(With(Add2026("clinic"), "--service-period", "monthly"), "--start", "2026-12-16"),
             "--end", "2027-06-15");
    const ToolResult next = Admin(archive, monthly);
    INFO(next.Describe());
    REQUIRE(next.exit_code == 0);
    CHECK(archive.sql().Count("SELECT count(*) FROM contracts WHERE superseded_at IS NULL") == 2);

    const ToolResult listed = Admin(archive, {"contract", "list", "--facility", "clinic"});
    INFO(listed.Describe());
    REQUIRE(listed.exit_code == 0);
    CHECK(CountOccurrences(listed.output, "\n") == 5);  // the header and 4 versions
    CHECK_THAT(listed.output, Catch::Contains("superseded by " + second));
    CHECK_THAT(listed.output, Catch::Contains("superseded by " + third));
    CHECK_THAT(listed.output, Catch::Contains("future"));
    CHECK(listed.output.find(" " + third + "  clinic") <
          listed.output.find(" " + second + "  clinic"));  // newest first

    // Later the monthly contract (2026-12-16..2027-06-15) is current: 6 months.
    archive.SetClock("2026-12-20T08:00:00Z");
    const ToolResult later = Admin(archive, {"contract", "show", "--facility", "clinic"});
    CHECK_THAT(later.output, Catch::Contains("accounting points  6 (6 months x 1)"));
    CHECK_THAT(later.output, Catch::Contains("history (newest first)"));

    const ToolResult audit =
        Admin(archive, {"audit", "--facility", "clinic", "--action", "contract."});
    INFO(audit.Describe());
    REQUIRE(audit.exit_code == 0);
    CHECK(CountOccurrences(audit.output, "contract.") == 4);
    CHECK_THAT(audit.output, Catch::Contains("contract.change"));
    CHECK_THAT(audit.output, Catch::Contains("bob"));
    CHECK_THAT(audit.output, Catch::Contains("more modalities"));
    CHECK_THAT(audit.output, Catch::Contains("quota: 500 GiB (536870912000 bytes) -> 1 TiB"));
    CHECK_THAT(audit.output, Catch::Contains("carol"));
    CHECK_THAT(audit.output, Catch::Contains("clinic moves"));
    CHECK(audit.output.find("contract.end") < audit.output.find("contract.change"));
    CHECK(Admin(archive, {"audit", "--limit", "0"}).exit_code == 2);
    CHECK(CountOccurrences(Admin(archive, {"audit", "--limit", "1"}).output, "\n") == 2);
  }
}

TEST_CASE("patient choices and legal holds are recorded and audited", "[contract_admin]") {
  TempDir data("hokan-it-contract-admin");
  const std::string study_uid = "1.2.826.0.1.3680043.8.498.4242.1";
  MakeStudy(data.path() / "study",
            {"--count", "2", "--patient-id", "P-7", "--study-uid", study_uid});
  ArchiveProcess archive(ContractOptions());
  archive.SetClock(kNow);
  // The lead's ingest refuses facilities without a current contract.
  REQUIRE(Admin(archive, Add2026("clinic")).exit_code == 0);
  const ToolResult stored =
      archive.StoreScu("CLINIC_MODALITY", {"+sd"}, {(data.path() / "study").string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);

  SECTION("patient opt-in, opt-out, list and clear") {
    CHECK(Admin(archive, {"patient", "opt-in", "--facility", "clinic", "--patient-id", "P-7",
                          "--reason", "consent form", "--by", "dora"})
              .exit_code == 0);
    const ToolResult flipped = Admin(archive, {"patient", "opt-out", "--facility", "clinic",
                                               "--patient-id", "P-7", "--reason", "withdrawn"});
    INFO(flipped.Describe());
    CHECK(flipped.exit_code == 0);
    CHECK_THAT(flipped.output, Catch::Contains("opt-out (was opt-in)"));
    CHECK(archive.sql().Value("SELECT choice || ' ' || reason FROM patient_choices "
                              " WHERE patient_id = 'P-7'") == "opt_out withdrawn");
    const ToolResult listed = Admin(archive, {"patient", "list", "--facility", "clinic"});
    CHECK_THAT(listed.output, Catch::Contains("P-7"));
    CHECK_THAT(listed.output, Catch::Contains("withdrawn"));

    const std::string before = Snapshot(archive);
    const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
        {{"patient", "opt-in", "--facility", "nowhere", "--patient-id", "P-7"},
         "unknown facility 'nowhere'"},
        {{"patient", "opt-in", "--facility", "clinic"}, "needs --patient-id"},
        {{"patient", "opt-in", "--facility", "clinic", "--patient-id", "   "},
         "--patient-id must not be empty"},
        {{"patient", "clear", "--facility", "clinic", "--patient-id", "P-unknown"},
         "has no recorded choice"},
        {{"patient", "forget", "--facility", "clinic"}, "unknown patient action 'forget'"},
    };
    for (const auto& [arguments, message] : refused) {
      const ToolResult result = Admin(archive, arguments);
      INFO(result.Describe());
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.output, Catch::Contains(message));
    }
    CHECK(Snapshot(archive) == before);

    CHECK(Admin(archive, {"patient", "clear", "--facility", "clinic", "--patient-id", "P-7"})
              .exit_code == 0);
    CHECK(archive.sql().Count("SELECT count(*) FROM patient_choices") == 0);
    const ToolResult audit = Admin(archive, {"audit", "--action", "patient."});
    CHECK(CountOccurrences(audit.output, "patient.") == 3);
    CHECK_THAT(audit.output, Catch::Contains("dora"));
    CHECK_THAT(audit.output, Catch::Contains("consent form"));
  }

  SECTION("hold set, list and release") {
    const std::string before = Snapshot(archive);
    const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
        {{"hold", "set", "--facility", "clinic", "--study", study_uid}, "needs --reason"},
        {{"hold", "set", "--facility", "clinic", "--study", "1.2.3.4", "--reason", "court"},
         "has no study '1.2.3.4'"},
        {{"hold", "set", "--facility", "annex", "--study", study_uid, "--reason", "court"},
         "facility 'annex' has no study"},
        {{"hold", "release", "--facility", "clinic", "--study", study_uid}, "is not on hold"},
    };
    for (const auto& [arguments, message] : refused) {
      const ToolResult result = Admin(archive, arguments);
      INFO(result.Describe());
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.output, Catch::Contains(message));
    }
    CHECK(Snapshot(archive) == before);

    const ToolResult held =
        Admin(archive, {"hold", "set", "--facility", "clinic", "--study", study_uid, "--reason",
                        "court order 17", "--by", "erin"});
    INFO(held.Describe());
    REQUIRE(held.exit_code == 0);
    CHECK(archive.sql().Value("SELECT legal_hold || ' ' || hold_reason FROM studies "
                              " WHERE study_instance_uid = $1",
                              {study_uid}) == "true court order 17");
    const ToolResult listed = Admin(archive, {"hold", "list"});
    CHECK_THAT(listed.output, Catch::Contains(study_uid));
    CHECK_THAT(listed.output, Catch::Contains("court order 17"));
    CHECK_THAT(listed.output, Catch::Contains("P-7"));

    CHECK(Admin(archive, {"hold", "release", "--facility", "clinic", "--study", study_uid,
                          "--reason", "case closed"})
              .exit_code == 0);
    CHECK(archive.sql().Value("SELECT legal_hold::text FROM studies WHERE study_instance_uid = $1",
                              {study_uid}) == "false");
    CHECK(CountOccurrences(Admin(archive, {"hold", "list"}).output, "\n") == 1);
    const ToolResult audit = Admin(archive, {"audit", "--action", "hold."});
    CHECK(CountOccurrences(audit.output, "hold.") == 2);
    CHECK_THAT(audit.output, Catch::Contains("erin"));
    CHECK_THAT(audit.output, Catch::Contains("case closed"));
    CHECK_THAT(audit.output, Catch::Contains("was held: 'court order 17'"));
  }
}

TEST_CASE("usage shows used, quota, free and what expires in the next 30 days",
          "[contract_admin]") {
  TempDir data("hokan-it-usage");
  const std::string soon = "1.2.826.0.1.3680043.8.498.4243.1";
  const std::string held = "1.2.826.0.1.3680043.8.498.4243.2";
  const std::string later = "1.2.826.0.1.3680043.8.498.4243.3";
  const std::string annex_study = "1.2.826.0.1.3680043.8.498.4243.4";
  for (const auto& uid : {soon, held, later}) {
    MakeStudy(data.path() / "clinic" / uid, {"--count", "1", "--study-uid", uid});
  }
  MakeStudy(data.path() / "annex", {"--count", "1", "--study-uid", annex_study});
  ArchiveProcess archive(ContractOptions());
  archive.SetClock(kNow);
  REQUIRE(Admin(archive, With(Add2026("clinic"), "--quota", "10M")).exit_code == 0);
  REQUIRE(Admin(archive, With(Add2026("annex"), "--grace-days", "25")).exit_code == 0);
  REQUIRE(archive.StoreScu("CLINIC_MODALITY", {"+sd", "+r"}, {(data.path() / "clinic").string()})
              .exit_code == 0);
  REQUIRE(
      archive.StoreScu("ANNEX_MODALITY", {"+sd"}, {(data.path() / "annex").string()}).exit_code ==
      0);
  // The annex's contract ends on 2026-11-01: with 25 days of grace its data
  // goes at the start of 2026-11-27, inside the 30-day window.
  const std::string annex_contract = archive.sql().Value(
      "SELECT c.id FROM contracts c JOIN facilities f ON f.id = c.facility_id "
      " WHERE f.name = 'annex'");
  REQUIRE(Admin(archive, {"contract", "end", annex_contract, "--on", "2026-11-01"}).exit_code == 0);

  // Counters and expiry dates are set here rather than taken from ingest:
  // the lead's ingest counters and rule-decided expires_at may not have
  // landed yet, and the report must read exactly these columns.
  archive.sql().Execute(
      "UPDATE studies SET size_bytes = 1048576, number_of_instances = 1, "
      "       last_received_at = '2026-03-01T10:00:00Z', expires_at = NULL");
  archive.sql().Execute(
      "UPDATE studies SET expires_at = '2026-12-02T12:00:00Z', "
      "       last_received_at = '2026-11-20T09:30:00Z' WHERE study_instance_uid = $1",
      {soon});
  archive.sql().Execute(
      "UPDATE studies SET expires_at = '2026-11-30T00:00:00Z', legal_hold = true, "
      "       hold_reason = 'court' WHERE study_instance_uid = $1",
      {held});
  archive.sql().Execute(
      "UPDATE studies SET expires_at = '2027-06-01T00:00:00Z' WHERE study_instance_uid = $1",
      {later});
  // Usage as folded totals with no deltas pending (schema 013).
  archive.sql().Execute("DELETE FROM facility_usage_deltas");
  archive.sql().Execute(
      "INSERT INTO facility_usage_folded (facility_id, used_bytes, studies, instances, "
      "                                   updated_at) "
      "SELECT f.id, CASE f.name WHEN 'clinic' THEN 3145728 ELSE 1048576 END, "
      "       CASE f.name WHEN 'clinic' THEN 3 ELSE 1 END, "
      "       CASE f.name WHEN 'clinic' THEN 3 ELSE 1 END, $1 FROM facilities f "
      "ON CONFLICT (facility_id) DO UPDATE SET used_bytes = EXCLUDED.used_bytes, "
      "       studies = EXCLUDED.studies, instances = EXCLUDED.instances",
      {kNow});

  const ToolResult table = Admin(archive, {"usage"});
  INFO(table.Describe());
  REQUIRE(table.exit_code == 0);
  const auto clinic_at = table.output.find("facility clinic");
  const auto annex_at = table.output.find("facility annex");
  REQUIRE(clinic_at != std::string::npos);
  REQUIRE(annex_at != std::string::npos);
  const std::string annex = table.output.substr(annex_at, clinic_at - annex_at);
  const std::string clinic = table.output.substr(clinic_at);
  CHECK_THAT(clinic, Catch::Contains("used                3145728 bytes (3 MiB)"));
  CHECK_THAT(clinic, Catch::Contains("quota               10485760 bytes (10 MiB)"));
  CHECK_THAT(clinic, Catch::Contains("free                7340032 bytes (7 MiB)"));
  CHECK_THAT(clinic, Catch::Contains("used percent        30.0%"));
  CHECK_THAT(clinic, Catch::Contains("studies             3"));
  CHECK_THAT(clinic, Catch::Contains("instances           3"));
  CHECK_THAT(clinic, Catch::Contains("oldest study        2026-03-01T10:00:00Z"));
  CHECK_THAT(clinic, Catch::Contains("newest study        2026-11-20T09:30:00Z"));
  // Only the unheld study expiring on 2026-12-02.
  CHECK_THAT(clinic, Catch::Contains("expiring in 30 days 1 studies, 1048576 bytes (1 MiB)"));
  CHECK_THAT(annex, Catch::Contains("quota               no contract"));
  CHECK_THAT(annex, Catch::Contains("contract ended      2026-11-01; unheld data expires at "
                                    "2026-11-27T00:00:00Z"));
  CHECK_THAT(annex, Catch::Contains("expiring in 30 days 1 studies, 1048576 bytes"));

  const ToolResult csv = Admin(archive, {"usage", "--facility", "clinic", "--format", "csv"});
  INFO(csv.Describe());
  REQUIRE(csv.exit_code == 0);
  CHECK_THAT(csv.output, Catch::StartsWith("facility,used_bytes,quota_bytes,free_bytes,"));
  CHECK_THAT(csv.output, Catch::Contains("\nclinic,3145728,10485760,7340032,30.0,3,3,"
                                         "2026-03-01T10:00:00Z,2026-11-20T09:30:00Z,1,1048576,"));
  CHECK(CountOccurrences(csv.output, "\n") == 2);

  const ToolResult bad_format = Admin(archive, {"usage", "--format", "xml"});
  CHECK(bad_format.exit_code == 2);
  CHECK_THAT(bad_format.output, Catch::Contains("--format 'xml'"));
  const ToolResult unknown = Admin(archive, {"usage", "--facility", "nowhere"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("unknown facility 'nowhere'"));
}

}  // namespace hokan::integration
