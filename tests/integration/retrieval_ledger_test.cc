// billing::FeeRecorder as the archive's RetrievalLedger on a real
// PostgreSQL: one retrieval writes its audit row and its fee events in one
// transaction (both or neither).

#include <catch2/catch.hpp>

#include "archive/index/database.h"
#include "archive/retrieve/retrieval_ledger.h"
#include "billing/fee_recorder.h"
#include "schema/embedded_migrations.h"
#include "tests/integration/test_support.h"
#include "tests/integration/throwaway_database.h"

namespace hokan::integration {
namespace {

constexpr const char* kSetUpTime = "2026-10-01T00:00:00Z";

struct LedgerDatabase {
  LedgerDatabase()
      : throwaway(TestDatabaseUrl()),
        database(throwaway.conninfo(), 2),
        sql(throwaway.conninfo()) {
    archive::ApplyMigrations(database, schema::EmbeddedMigrations());
    sql.Execute("INSERT INTO facilities (name, created_at) VALUES ('clinic', $1)", {kSetUpTime});
    sql.Execute(
        "INSERT INTO purposes (name, called_ae_title, modalities, created_at, updated_at) "
        "VALUES ('diagnosis', 'HOKAN', '{*}', $1, $1)",
        {kSetUpTime});
  }

  archive::RetrievalRecord Record(std::optional<std::int64_t> purpose_id) {
    archive::RetrievalRecord record;
    record.operation = "C-MOVE to VIEWER";
    record.facility_id = sql.Count("SELECT id FROM facilities");
    record.calling_ae = "VIEWER";
    record.purpose_id = purpose_id;
    record.purpose_name = "diagnosis";
    record.studies = {{record.facility_id, "1.2.3.1", "CT", 3, 1},
                      {record.facility_id, "1.2.3.2", "", 0, 2}};
    record.at = *ParseUtc("2026-11-19T10:00:00Z");
    return record;
  }

  ThrowawayDatabase throwaway;
  archive::Database database;
  Sql sql;
};

}  // namespace

TEST_CASE("a retrieval writes one audit row and a fee event per delivered study",
          "[fee-events]") {
  LedgerDatabase db;
  billing::FeeRecorder recorder(db.database);
  archive::RetrievalLedger& ledger = recorder;

  SECTION("under a purpose") {
    ledger.Record(db.Record(db.sql.Count("SELECT id FROM purposes")));
    CHECK(db.sql.Count("SELECT count(*) FROM audit_log WHERE action = 'retrieve'") == 1);
    CHECK(db.sql.Value("SELECT actor || ' ' || subject FROM audit_log "
                       "WHERE action = 'retrieve'") == "VIEWER 1.2.3.1, 1.2.3.2");
    CHECK(db.sql.Count("SELECT count(*) FROM fee_events") == 1);  // nothing of 1.2.3.2 arrived
    CHECK(db.sql.Value("SELECT instances_delivered || '/' || instances_failed "
                       "FROM fee_events") == "3/1");
  }
  SECTION("without a purpose: the audit row only") {
    ledger.Record(db.Record(std::nullopt));
    CHECK(db.sql.Count("SELECT count(*) FROM audit_log WHERE action = 'retrieve'") == 1);
    CHECK(db.sql.Count("SELECT count(*) FROM fee_events") == 0);
  }
  SECTION("a fee event that cannot be written takes the audit row with it") {
    CHECK_THROWS(ledger.Record(db.Record(987654)));  // no such purpose
    CHECK(db.sql.Count("SELECT count(*) FROM audit_log WHERE action = 'retrieve'") == 0);
    CHECK(db.sql.Count("SELECT count(*) FROM fee_events") == 0);
  }
}

}  // namespace hokan::integration
