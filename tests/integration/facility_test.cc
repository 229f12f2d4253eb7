// Facilities are tenants: the same Patient ID (and even the same study) at
// two facilities is two separate sets of rows.

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {

TEST_CASE("the same Patient ID at two facilities is two patients", "[store][facility]") {
  TempDir data("hokan-it-facility");
  MakeStudy(data.path() / "north",
            {"--count", "3", "--patient-id", "SHARED-ID", "--patient-name", "NORTH^PATIENT"});
  MakeStudy(data.path() / "south", {"--count", "2", "--patient-id", "SHARED-ID", "--patient-name",
                                    "SOUTH^PATIENT", "--modality", "MR"});

  ArchiveOptions options;
  options.facilities.push_back({"north", {"IT_NORTH"}, {}, {}});
  options.facilities.push_back({"south", {"IT_SOUTH", "IT_SOUTH2"}, {}, {}});
  ArchiveProcess archive(options);

  ToolResult north =
      archive.StoreScu("IT_NORTH", {"-v", "+sd"}, {(data.path() / "north").string()});
  INFO(north.Describe());
  REQUIRE(north.exit_code == 0);
  ToolResult south =
      archive.StoreScu("IT_SOUTH2", {"-v", "+sd"}, {(data.path() / "south").string()});
  INFO(south.Describe());
  REQUIRE(south.exit_code == 0);

  Sql& sql = archive.sql();
  auto patients = sql.Query(
      "SELECT f.name, p.patient_name FROM patients p JOIN facilities f ON f.id = p.facility_id "
      "WHERE p.patient_id = 'SHARED-ID' ORDER BY f.name");
  REQUIRE(patients.size() == 2);
  CHECK(*patients[0][0] == "north");
  CHECK(*patients[0][1] == "NORTH^PATIENT");
  CHECK(*patients[1][0] == "south");
  CHECK(*patients[1][1] == "SOUTH^PATIENT");

  // Each facility's instances hang off its own patient and study, and live
  // below its own folder of the storage root.
  auto per_facility = sql.Query(
      "SELECT f.name, count(*), count(DISTINCT st.id), "
      "       bool_and(i.relative_path LIKE f.id || '/%'), "
      "       bool_and(st.facility_id = f.id AND p.facility_id = f.id) "
      "FROM instances i JOIN facilities f ON f.id = i.facility_id "
      "JOIN series se ON se.id = i.series_fk JOIN studies st ON st.id = se.study_fk "
      "JOIN patients p ON p.id = st.patient_fk GROUP BY f.name ORDER BY f.name");
  REQUIRE(per_facility.size() == 2);
  CHECK(*per_facility[0][1] == "3");
  CHECK(*per_facility[1][1] == "2");
  for (const auto& row : per_facility) {
    INFO("facility " << *row[0]);
    CHECK(*row[2] == "1");
    CHECK(*row[3] == "t");
    CHECK(*row[4] == "t");
  }
  CHECK(
      sql.Value("SELECT string_agg(DISTINCT calling_ae, ',' ORDER BY calling_ae) FROM instances") ==
      "IT_NORTH,IT_SOUTH2");

  // The very same study sent by the other facility is stored again, for it.
  ToolResult again =
      archive.StoreScu("IT_SOUTH", {"-v", "+sd"}, {(data.path() / "north").string()});
  INFO(again.Describe());
  REQUIRE(again.exit_code == 0);
  CHECK(CountStoreSuccesses(again.output) == 3);
  CHECK(sql.Count("SELECT count(*) FROM instances") == 8);
  CHECK(sql.Count("SELECT count(*) FROM studies") == 3);
  CHECK(sql.Count("SELECT count(DISTINCT sop_instance_uid) FROM instances") == 5);
  CHECK(sql.Count("SELECT count(*) FROM patients WHERE patient_id = 'SHARED-ID'") == 2);
}

}  // namespace hokan::integration
