// One clock: everything hokan-archive and `hokan` write to the database
// carries hokan's clock (here a test clock 1000 days ahead of the machine's),
// never PostgreSQL's now(), in every timestamp column of every table.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

void RequireAdmin(const ArchiveProcess& archive, const std::vector<std::string>& arguments) {
  const ToolResult result = Admin(archive, arguments);
  INFO(result.Describe());
  REQUIRE(result.exit_code == 0);
}

}  // namespace

TEST_CASE("every time the archive and hokan write comes from hokan's clock", "[clock]") {
  TempDir data("hokan-it-clock");
  // The test's base: far from the machine's (and so the database's) time.
  const std::string base =
      FormatUtc(std::chrono::system_clock::now() + std::chrono::hours(24 * 1000));
  const std::string base_day = base.substr(0, 10);
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.controlled_clock = true;
  options.initial_clock = base;
  options.extra_archive_settings = {"job_poll_milliseconds = 100"};
  ArchiveProcess archive(options);
  Sql& sql = archive.sql();

  // Ingest, the start-up jobs, and the admin command's writes.
  const auto study = MakeStudy(data.path() / "study", {"--count", "2"});
  const ToolResult stored = archive.StoreScu("IT_MODALITY", {}, PathsOf(study));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  const std::string study_uid = sql.Value("SELECT study_instance_uid FROM studies");
  RequireAdmin(archive, {"hold", "set", "--facility", "clinic", "--study", study_uid, "--reason",
                         "court", "--by", "alice"});
  RequireAdmin(archive, {"patient", "opt-out", "--facility", "clinic", "--patient-id", "OUT-1",
                         "--reason", "withdrawn", "--by", "alice"});
  RequireAdmin(archive, {"purpose", "add", "referral", "--called-ae", "HOKAN_REF",
                         "--modalities", "CT"});
  RequireAdmin(archive, {"fee", "add", "--purpose", "referral", "--amount", "100", "--currency",
                         "JPY", "--effective", base_day});
  RequireAdmin(archive, {"price", "set", "accounting_point", "--amount", "1000", "--currency",
                         "JPY", "--effective", base_day});
  REQUIRE(WaitUntil(
      [&] {
        return sql.Count("SELECT count(*) FROM jobs WHERE kind = 'usage-sample' "
                         "AND state = 'done'") == 1;
      },
      30s));

  // The times hokan wrote are on the test clock's day ...
  const std::vector<std::string> written = {
      "SELECT received_at FROM instances",      "SELECT last_received_at FROM studies",
      "SELECT created_at FROM contracts",       "SELECT at FROM audit_log",
      "SELECT taken_at FROM usage_samples",     "SELECT finished_at FROM jobs",
      "SELECT updated_at FROM facility_usage",  "SELECT recorded_at FROM patient_choices",
      "SELECT created_at FROM fee_schedules",   "SELECT applied_at FROM schema_migrations"};
  for (const auto& query : written) {
    INFO(query);
    CHECK(sql.Value("SELECT bool_and((t.v AT TIME ZONE 'UTC')::date = $1::date) "
                    "  FROM (" + query + ") AS t(v)",
                    {base_day}) == "t");
  }
  // ... and no timestamp column of any table holds the database server's time.
  const auto columns = sql.Query(
      "SELECT table_name, column_name FROM information_schema.columns "
      " WHERE table_schema = 'public' AND data_type = 'timestamp with time zone'");
  REQUIRE(columns.size() > 20);
  for (const auto& column : columns) {
    const std::string where = *column[0] + "." + *column[1];
    INFO(where);
    CHECK(sql.Count("SELECT count(*) FROM public.\"" + *column[0] + "\" WHERE \"" + *column[1] +
                    "\" BETWEEN now() - interval '2 days' AND now() + interval '2 days'") == 0);
  }
}

}  // namespace hokan::integration
