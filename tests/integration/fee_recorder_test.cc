// billing::FeeRecorder on a real PostgreSQL (a throwaway database with every
// migration): one fee event per (facility, study, purpose, billing day)
// however many deliveries and threads, the price in force on the billing
// day, counts added by repeats, nothing for an empty delivery.

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "archive/index/database.h"
#include "billing/fee_recorder.h"
#include "schema/embedded_migrations.h"
#include "tests/integration/test_support.h"
#include "tests/integration/throwaway_database.h"

namespace hokan::integration {
namespace {

constexpr const char* kSetUpTime = "2026-10-01T00:00:00Z";

struct BillingDatabase {
  BillingDatabase()
      : throwaway(TestDatabaseUrl()), database(throwaway.conninfo(), 4), sql(throwaway.conninfo()) {
    archive::ApplyMigrations(database, schema::EmbeddedMigrations());
    // Everything is set up on kSetUpTime, before the first fee line.
    sql.Execute("INSERT INTO facilities (name, created_at) VALUES ('clinic', $1)", {kSetUpTime});
    sql.Execute(
        "INSERT INTO purposes (name, called_ae_title, modalities, created_at, updated_at) "
        "VALUES ('diagnosis', 'HOKAN', '{*}', $1, $1), ('referral', 'HOKAN_REF', '{CT}', $1, $1)",
        {kSetUpTime});
    // Diagnosis: 500 JPY from Nov 1, 700 from Nov 20; CT under diagnosis 900 from Nov 1.
    sql.Execute(
        "INSERT INTO fee_schedules (purpose_id, modality, amount_minor, currency, "
        "effective_from, created_at) VALUES "
        "((SELECT id FROM purposes WHERE name = 'diagnosis'), NULL, 500, 'JPY', '2026-11-01', $1),"
        "((SELECT id FROM purposes WHERE name = 'diagnosis'), NULL, 700, 'JPY', '2026-11-20', $1),"
        "((SELECT id FROM purposes WHERE name = 'diagnosis'), 'CT', 900, 'JPY', '2026-11-01', $1),"
        "((SELECT id FROM purposes WHERE name = 'referral'), NULL, 300, 'JPY', '2026-11-01', $1)",
        {kSetUpTime});
  }

  std::int64_t PurposeId(const std::string& name) {
    return sql.Count("SELECT id FROM purposes WHERE name = $1", {name});
  }
  std::int64_t FacilityId() { return sql.Count("SELECT id FROM facilities"); }

  ThrowawayDatabase throwaway;
  archive::Database database;
  Sql sql;
};

TimePoint At(const std::string& utc) { return *ParseUtc(utc); }

// One retrieval by `calling_ae` under purpose `purpose_id` at `at` that
// delivered (part of) one study, recorded as the archive records it.
void RecordDelivery(billing::FeeRecorder& recorder, std::int64_t purpose_id,
                    const std::string& calling_ae, const billing::StudyDelivery& delivery,
                    TimePoint at) {
  archive::RetrievalRecord record;
  record.operation = "C-MOVE to " + calling_ae;
  record.facility_id = delivery.facility_id;
  record.calling_ae = calling_ae;
  record.purpose_id = purpose_id;
  record.studies = {delivery};
  record.at = at;
  recorder.Record(record);
}

}  // namespace

TEST_CASE("fee events: one per study, purpose and day, priced on the billing day",
          "[fee-events]") {
  BillingDatabase db;
  billing::FeeRecorder recorder(db.database);
  const std::int64_t diagnosis = db.PurposeId("diagnosis");
  billing::StudyDelivery mr{db.FacilityId(), "1.2.3.1", "MR", 3, 1};

  RecordDelivery(recorder, diagnosis, "VIEWER", mr, At("2026-11-19T23:59:00Z"));
  RecordDelivery(recorder, diagnosis, "VIEWER", mr, At("2026-11-19T10:00:00Z"));  // a retry
  RecordDelivery(recorder, diagnosis, "VIEWER", mr, At("2026-11-20T00:00:01Z"));  // the next day
  auto rows = db.sql.Query(
      "SELECT billing_day::text, amount_minor::text, instances_delivered::text, "
      "instances_failed::text FROM fee_events ORDER BY billing_day");
  REQUIRE(rows.size() == 2);
  CHECK(*rows[0][0] == "2026-11-19");
  CHECK(*rows[0][1] == "500");  // the line in force on Nov 19
  CHECK(*rows[0][2] == "6");    // both deliveries of the day counted, charged once
  CHECK(*rows[0][3] == "2");
  CHECK(*rows[1][0] == "2026-11-20");
  CHECK(*rows[1][1] == "700");  // the new price from Nov 20; Nov 19 keeps 500

  SECTION("a modality's own line wins over the purpose's line") {
    RecordDelivery(recorder, diagnosis, "VIEWER", {db.FacilityId(), "1.2.3.2", "CT", 1, 0},
                            At("2026-11-19T12:00:00Z"));
    CHECK(db.sql.Value("SELECT amount_minor FROM fee_events WHERE study_instance_uid = "
                       "'1.2.3.2'") == "900");
  }
  SECTION("another purpose charges its own fee for the same study") {
    RecordDelivery(recorder, db.PurposeId("referral"), "REF_VIEWER", mr,
                            At("2026-11-19T12:00:00Z"));
    CHECK(db.sql.Count("SELECT count(*) FROM fee_events WHERE billing_day = '2026-11-19'") == 2);
    CHECK(db.sql.Value("SELECT amount_minor FROM fee_events f JOIN purposes p ON "
                       "p.id = f.purpose_id WHERE p.name = 'referral'") == "300");
  }
  SECTION("nothing delivered records nothing") {
    RecordDelivery(recorder, diagnosis, "VIEWER", {db.FacilityId(), "1.2.3.3", "MR", 0, 5},
                            At("2026-11-19T12:00:00Z"));
    CHECK(db.sql.Count("SELECT count(*) FROM fee_events WHERE study_instance_uid = "
                       "'1.2.3.3'") == 0);
  }
  SECTION("before any fee line: recorded at 0") {
    RecordDelivery(recorder, diagnosis, "VIEWER", {db.FacilityId(), "1.2.3.4", "MR", 1, 0},
                            At("2026-10-31T12:00:00Z"));
    CHECK(db.sql.Value("SELECT amount_minor || ' ' || currency || ' ' || "
                       "coalesce(fee_schedule_id::text, 'none') FROM fee_events "
                       "WHERE study_instance_uid = '1.2.3.4'") == "0 JPY none");
  }
}

TEST_CASE("fee events: parallel deliveries of one study the same day charge once",
          "[fee-events]") {
  BillingDatabase db;
  billing::FeeRecorder recorder(db.database);
  const std::int64_t diagnosis = db.PurposeId("diagnosis");
  const std::int64_t facility_id = db.FacilityId();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      try {
        for (int j = 0; j < 10; ++j) {
          RecordDelivery(recorder, diagnosis, "VIEWER", {facility_id, "1.2.9", "MR", 2, 0},
                                  At("2026-11-22T08:00:00Z"));
        }
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& error : errors) CHECK(error.empty());
  CHECK(db.sql.Count("SELECT count(*) FROM fee_events") == 1);
  CHECK(db.sql.Value("SELECT instances_delivered FROM fee_events") == "80");
  CHECK(db.sql.Value("SELECT amount_minor FROM fee_events") == "700");  // in force on Nov 22
}

}  // namespace hokan::integration
