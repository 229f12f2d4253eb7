// Storage conditions at ingest, against a real archive: the current
// contract, what it keeps, storage rules and their periods, the quota and
// the free-space floor, and the counters and usage ingest keeps.

#include <catch2/catch.hpp>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

// storescu -d of `files` as `calling_ae`; the DIMSE statuses it saw.
std::vector<std::uint16_t> Store(const ArchiveProcess& archive, const std::string& calling_ae,
                                 const std::vector<std::string>& files) {
  const ToolResult result = archive.StoreScu(calling_ae, {"-d", "--no-halt"}, files);
  INFO(result.Describe());
  return DimseStatusesFromDebugOutput(result.output);
}

}  // namespace

TEST_CASE("a facility without a current contract cannot store", "[conditions]") {
  TempDir data("hokan-it-conditions");
  const auto study = MakeStudy(data.path(), {"--count", "1"});
  ArchiveOptions options = SingleFacilityOptions("NOCONTRACT_CT");
  options.facilities[0].provision_contract = false;
  ArchiveProcess archive(options);

  CHECK(Store(archive, "NOCONTRACT_CT", PathsOf(study)) == std::vector<std::uint16_t>{0x0124});
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM contracts") == 0);
  CHECK_THAT(archive.Log(), Catch::Contains("refused with 0x0124: the facility has no current "
                                            "contract"));
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'ingest.refuse' "
                            "AND actor = 'NOCONTRACT_CT' AND subject = $1",
                            {study[0].sop_instance_uid}) == 1);

  // A contract that ended yesterday (by the archive's clock) is not current either.
  const std::string now = archive.ClockNow();
  archive.sql().Execute(
      "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
      "data_kept, quota_bytes, service_class, default_storage_period, created_by, created_at) "
      "SELECT id, 'monthly', ($1::timestamptz AT TIME ZONE 'UTC')::date - 40, "
      "       ($1::timestamptz AT TIME ZONE 'UTC')::date - 1, 'on_receipt', 'all', "
      "1073741824, 'economy', '5y', 'test', $1 FROM facilities",
      {now});
  CHECK(Store(archive, "NOCONTRACT_CT", PathsOf(study)) == std::vector<std::uint16_t>{0x0124});
  // A current one lets the next association store.
  archive.sql().Execute(
      "UPDATE contracts SET ends_on = ($1::timestamptz AT TIME ZONE 'UTC')::date + 30", {now});
  CHECK(Store(archive, "NOCONTRACT_CT", PathsOf(study)) == std::vector<std::uint16_t>{0x0000});
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
}

TEST_CASE("what the contract keeps: opted-out patients and modalities are refused",
          "[conditions]") {
  TempDir data("hokan-it-conditions");
  const auto kept = MakeStudy(data.path() / "kept", {"--count", "1", "--patient-id", "KEEP-1"});
  const auto opted_out =
      MakeStudy(data.path() / "out", {"--count", "2", "--patient-id", "OUT-1"});
  const auto mr = MakeStudy(data.path() / "mr",
                            {"--count", "1", "--patient-id", "KEEP-1", "--modality", "MR"});
  ArchiveProcess archive(SingleFacilityOptions("KEEP_CT"));
  archive.sql().Execute("UPDATE contracts SET data_kept = 'patient_opt_out'");
  archive.sql().Execute("INSERT INTO patient_choices (facility_id, patient_id, choice, "
                        "recorded_by, recorded_at) "
                        "SELECT id, 'OUT-1', 'opt_out', 'test', $1 FROM facilities",
                        {archive.ClockNow()});

  CHECK(Store(archive, "KEEP_CT", PathsOf(kept)) == std::vector<std::uint16_t>{0x0000});
  CHECK(Store(archive, "KEEP_CT", PathsOf(opted_out)) ==
        std::vector<std::uint16_t>{0x0124, 0x0124});
  CHECK_THAT(archive.Log(), Catch::Contains("opted out"));
  CHECK(archive.sql().Count("SELECT count(*) FROM patients WHERE patient_id = 'OUT-1'") == 0);

  archive.sql().Execute("UPDATE contracts SET data_kept = 'per_modality', "
                        "kept_modalities = '{CT}'");
  CHECK(Store(archive, "KEEP_CT", PathsOf(mr)) == std::vector<std::uint16_t>{0x0124});
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'ingest.refuse'") ==
        3);
}

TEST_CASE("storage rules decide the storage period, the tier and refusals", "[conditions]") {
  TempDir data("hokan-it-conditions");
  const auto ct = MakeStudy(data.path() / "ct", {"--count", "2", "--patient-id", "R-1"});
  const auto mr =
      MakeStudy(data.path() / "mr", {"--count", "1", "--patient-id", "R-2", "--modality", "MR"});
  const auto other =
      MakeStudy(data.path() / "other", {"--count", "1", "--patient-id", "R-3"});
  ArchiveOptions options = SingleFacilityOptions("RULES_CT");
  options.facilities[0].store_ae_titles.push_back("RULES_BAD");
  ArchiveProcess archive(options);
  Sql& sql = archive.sql();
  const std::string now = archive.ClockNow();
  // Facility rules first (by position), then the global ones.
  sql.Execute("INSERT INTO storage_rules (facility_id, position, name, calling_ae, action, "
              "reject_status, created_by, created_at) SELECT id, 1, 'no data from RULES_BAD', "
              "'rules_bad', 'reject', 43264, 'test', $1 FROM facilities",
              {now});  // 0xA900
  sql.Execute("INSERT INTO storage_rules (facility_id, position, name, modality, action, "
              "storage_period, tier, created_by, created_at) SELECT id, 2, 'MR 10 years', 'MR', "
              "'accept', '10y', 'cold', 'test', $1 FROM facilities",
              {now});
  sql.Execute("INSERT INTO storage_rules (facility_id, position, name, modality, action, "
              "storage_period, created_by, created_at) VALUES (NULL, 1, 'CT 5 years', 'C?', "
              "'accept', '5y', 'test', $1)",
              {now});

  CHECK(Store(archive, "RULES_CT", PathsOf(ct)) == std::vector<std::uint16_t>{0x0000, 0x0000});
  CHECK(Store(archive, "RULES_CT", PathsOf(mr)) == std::vector<std::uint16_t>{0x0000});
  CHECK(Store(archive, "RULES_BAD", PathsOf(other)) == std::vector<std::uint16_t>{0xA900});

  // Each instance carries the period from its study date, the rule and the tier.
  auto expiry_matches = [&](const std::string& patient_id, const std::string& period) {
    return sql.Value(
        "SELECT bool_and(i.expires_at = (to_date(s.study_date, 'YYYYMMDD') + $2::interval) "
        "                                AT TIME ZONE 'UTC' "
        "                AND s.expires_at = i.expires_at) "
        "  FROM instances i JOIN series e ON e.id = i.series_fk "
        "  JOIN studies s ON s.id = e.study_fk JOIN patients p ON p.id = s.patient_fk "
        " WHERE p.patient_id = $1",
        {patient_id, period});
  };
  CHECK(expiry_matches("R-1", "5 years") == "t");
  CHECK(expiry_matches("R-2", "10 years") == "t");
  CHECK(sql.Value("SELECT string_agg(DISTINCT r.name || '/' || i.tier, ',') FROM instances i "
                  "JOIN storage_rules r ON r.id = i.storage_rule_id") ==
        "CT 5 years/hot,MR 10 years/cold");
  CHECK(sql.Count("SELECT count(*) FROM patients WHERE patient_id = 'R-3'") == 0);
  CHECK_THAT(archive.Log(), Catch::Contains("no data from RULES_BAD"));

  // Without a matching rule, the contract's default period.
  sql.Execute("UPDATE storage_rules SET deleted_at = $1", {archive.ClockNow()});
  sql.Execute("UPDATE contracts SET default_storage_period = '10y'");
  const auto late = MakeStudy(data.path() / "late", {"--count", "1", "--patient-id", "R-4"});
  CHECK(Store(archive, "RULES_BAD", PathsOf(late)) == std::vector<std::uint16_t>{0x0000});
  CHECK(expiry_matches("R-4", "10 years") == "t");
  // The provisional contract's own default keeps data forever.
  sql.Execute("UPDATE contracts SET default_storage_period = 'forever'");
  const auto kept = MakeStudy(data.path() / "kept", {"--count", "1", "--patient-id", "R-5"});
  CHECK(Store(archive, "RULES_BAD", PathsOf(kept)) == std::vector<std::uint16_t>{0x0000});
  CHECK(sql.Value("SELECT bool_and(i.expires_at IS NULL AND s.expires_at IS NULL) "
                  "FROM instances i JOIN series e ON e.id = i.series_fk JOIN studies s ON "
                  "s.id = e.study_fk JOIN patients p ON p.id = s.patient_fk "
                  "WHERE p.patient_id = 'R-5'") == "t");
  CHECK(sql.Value("SELECT storage_rule_id IS NULL FROM instances i JOIN series e ON "
                  "e.id = i.series_fk JOIN studies s ON s.id = e.study_fk JOIN patients p ON "
                  "p.id = s.patient_fk WHERE p.patient_id = 'R-4'") == "t");
}

TEST_CASE("ingest keeps study counters and facility usage current", "[conditions]") {
  TempDir data("hokan-it-conditions");
  const auto study = MakeStudy(data.path(), {"--count", "5", "--series-count", "2"});
  ArchiveProcess archive(SingleFacilityOptions("COUNT_CT"));
  REQUIRE(archive.StoreScu("COUNT_CT", {"+sd"}, {data.path().string()}).exit_code == 0);
  // Storing the same files again changes nothing.
  REQUIRE(archive.StoreScu("COUNT_CT", {"+sd"}, {data.path().string()}).exit_code == 0);
  Sql& sql = archive.sql();
  CHECK(sql.Value("SELECT number_of_series || '/' || number_of_instances || '/' || size_bytes "
                  "FROM studies") ==
        sql.Value("SELECT count(DISTINCT series_fk) || '/' || count(*) || '/' || "
                  "sum(size_bytes) FROM instances"));
  CHECK(sql.Value("SELECT string_agg(number_of_instances::text, ',' ORDER BY "
                  "number_of_instances) FROM series") == "2,3");
  CHECK(sql.Value("SELECT used_bytes || '/' || studies || '/' || instances FROM "
                  "facility_usage") ==
        sql.Value("SELECT sum(size_bytes) || '/1/5' FROM instances"));
}

TEST_CASE("over quota and under the free-space floor, C-STOREs get 0xA700", "[conditions]") {
  TempDir data("hokan-it-conditions");
  const auto first = MakeStudy(data.path() / "a", {"--count", "1", "--patient-id", "Q-1"});
  const auto second = MakeStudy(data.path() / "b", {"--count", "1", "--patient-id", "Q-2"});
  ArchiveProcess archive(SingleFacilityOptions("QUOTA_CT"));
  // Room for one file and a half.
  const auto size = static_cast<std::int64_t>(fs::file_size(first[0].path));
  archive.sql().Execute("UPDATE contracts SET quota_bytes = $1", {std::to_string(size * 3 / 2)});
  CHECK(Store(archive, "QUOTA_CT", PathsOf(first)) == std::vector<std::uint16_t>{0x0000});
  CHECK(Store(archive, "QUOTA_CT", PathsOf(second)) == std::vector<std::uint16_t>{0xA700});
  CHECK_THAT(archive.Log(), Catch::Contains("quota"));
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action = 'ingest.refuse' "
                            "AND detail LIKE '%0xA700%'") == 1);

  ArchiveOptions floor_options = SingleFacilityOptions("FLOOR_CT");
  floor_options.extra_archive_settings = {"free_space_floor_bytes = 1000000T"};
  ArchiveProcess floored(floor_options);
  CHECK(Store(floored, "FLOOR_CT", PathsOf(second)) == std::vector<std::uint16_t>{0xA700});
  CHECK_THAT(floored.Log(), Catch::Contains("under the floor"));
  CHECK(floored.sql().Count("SELECT count(*) FROM instances") == 0);
}

TEST_CASE("a study sent again after it expired is stored again in full", "[conditions]") {
  TempDir data("hokan-it-conditions");
  const auto study = MakeStudy(data.path(), {"--count", "3"});
  ArchiveProcess archive(SingleFacilityOptions("AGAIN_CT"));
  CHECK(Store(archive, "AGAIN_CT", PathsOf(study)) ==
        std::vector<std::uint16_t>{0x0000, 0x0000, 0x0000});
  archive.sql().Execute("UPDATE studies SET expires_at = $1::timestamptz - interval '1 day'",
                        {archive.ClockNow()});
  const ToolResult expired =
      Admin(archive, {"expire", "--now", "--storage-root", archive.storage_root().string()});
  INFO(expired.Describe());
  REQUIRE(expired.exit_code == 0);
  REQUIRE(archive.sql().Count("SELECT count(*) FROM series") == 0);
  // The archive still remembers the series it wrote; each store must succeed
  // on its first attempt and recreate patient, study and series.
  CHECK(Store(archive, "AGAIN_CT", PathsOf(study)) ==
        std::vector<std::uint16_t>{0x0000, 0x0000, 0x0000});
  CHECK(archive.sql().Value("SELECT number_of_series || '/' || number_of_instances FROM "
                            "studies") == "1/3");
  CHECK(archive.sql().Value("SELECT studies || '/' || instances FROM facility_usage") == "1/3");
}

}  // namespace hokan::integration
