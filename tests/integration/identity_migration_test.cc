// Identity across an upgrade and at start-up: schema 015 keeps the rows of
// a database made under the old one-facility-per-AE-title schema, the
// configuration sync then gives each facility its own rows, and a
// configuration in which one (calling AE, address) names two facilities is
// refused before the archive serves anything.

#include <catch2/catch.hpp>

#include <vector>

#include "archive/config/config.h"
#include "archive/index/database.h"
#include "archive/index/instance_index.h"
#include "schema/embedded_migrations.h"
#include "tests/integration/test_support.h"
#include "tests/integration/throwaway_database.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {
namespace {

archive::FacilityConfig Facility(const std::string& name, std::vector<std::string> store,
                                 std::vector<std::string> query,
                                 std::vector<archive::DestinationConfig> destinations) {
  archive::FacilityConfig facility;
  facility.name = name;
  facility.store_ae_titles = std::move(store);
  facility.query_ae_titles = std::move(query);
  facility.move_destinations = std::move(destinations);
  return facility;
}

}  // namespace

TEST_CASE("schema 018 keeps each purpose grant, bound to the facility whose caller it was",
          "[identity][purpose]") {
  ThrowawayDatabase throwaway(TestDatabaseUrl());
  archive::Database database(throwaway.conninfo(), 2);
  Sql sql(throwaway.conninfo());
  std::vector<schema::Migration> before_018;
  for (const auto& migration : schema::EmbeddedMigrations()) {
    if (migration.version < 18) before_018.push_back(migration);
  }
  archive::ApplyMigrations(database, before_018);

  // CT1 calls in at north and at south; READER is only south's destination.
  const std::string at = "2030-01-01T00:00:00Z";
  sql.Execute("INSERT INTO facilities (name, created_at) VALUES ('north', $1), ('south', $1)",
              {at});
  sql.Execute(
      "INSERT INTO application_entities (ae_title, facility_id, role, may_store, source, "
      "updated_at) SELECT 'CT1', id, 'modality', true, 'config', $1 FROM facilities",
      {at});
  sql.Execute(
      "INSERT INTO application_entities (ae_title, facility_id, role, host, port, may_store, "
      "source, updated_at) SELECT 'READER', id, 'destination', '10.0.0.7', 104, false, 'config',"
      " $1 FROM facilities WHERE name = 'south'",
      {at});
  sql.Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, created_at, updated_at) "
      "VALUES ('referral', 'HOKAN_REF', '{*}', $1, $1)",
      {at});
  sql.Execute(
      "INSERT INTO purpose_grants (purpose_id, ae_title, granted_at) "
      "SELECT id, 'CT1', $1::timestamptz FROM purposes UNION ALL "
      "SELECT id, 'READER', $1::timestamptz FROM purposes",
      {at});

  archive::ApplyMigrations(database, schema::EmbeddedMigrations());
  CHECK(sql.Value("SELECT string_agg(g.ae_title || '@' || f.name || ' ' || (g.granted_at AT TIME ZONE 'UTC')::date, "
                  "',' ORDER BY f.name) FROM purpose_grants g "
                  "JOIN facilities f ON f.id = g.facility_id") ==
        "CT1@north 2030-01-01,CT1@south 2030-01-01");
}

TEST_CASE("schema 015 keeps an old database's AE rows; the sync then separates facilities",
          "[identity][startup]") {
  ThrowawayDatabase throwaway(TestDatabaseUrl());
  archive::Database database(throwaway.conninfo(), 2);
  Sql sql(throwaway.conninfo());
  std::vector<schema::Migration> before_015;
  for (const auto& migration : schema::EmbeddedMigrations()) {
    if (migration.version < 15) before_015.push_back(migration);
  }
  archive::ApplyMigrations(database, before_015);

  // What the old sync left: READER moved to south (the last section that
  // listed it), VIEW one row as north's caller and destination at once.
  const std::string at = "2030-01-01T00:00:00Z";
  sql.Execute("INSERT INTO facilities (name, created_at) VALUES ('north', $1), ('south', $1)",
              {at});
  sql.Execute(
      "INSERT INTO application_entities (ae_title, facility_id, role, host, port, may_store, "
      "source, updated_at) VALUES "
      "('NORTH_CT', (SELECT id FROM facilities WHERE name = 'north'), 'modality', NULL, NULL,"
      " true, 'config', $1),"
      "('VIEW', (SELECT id FROM facilities WHERE name = 'north'), 'viewer', '10.0.0.9', 104,"
      " false, 'config', $1),"
      "('READER', (SELECT id FROM facilities WHERE name = 'south'), 'destination', '10.0.0.7',"
      " 104, false, 'config', $1)",
      {at});
  const std::string old_rows =
      "SELECT string_agg(id || ae_title || facility_id || role || coalesce(host, '-') || "
      "coalesce(port::text, '-'), ';' ORDER BY id) FROM application_entities";
  const std::string before = sql.Value(old_rows);

  archive::ApplyMigrations(database, schema::EmbeddedMigrations());
  CHECK(sql.Count("SELECT max(version) FROM schema_migrations") >= 15);
  CHECK(sql.Value(old_rows) == before);

  // Until the next sync, the old combined row still serves north's moves to VIEW.
  archive::InstanceIndex index(database);
  const std::int64_t north = sql.Count("SELECT id FROM facilities WHERE name = 'north'");
  const std::int64_t south = sql.Count("SELECT id FROM facilities WHERE name = 'south'");
  REQUIRE(index.FindMoveDestination("VIEW", north));
  CHECK(index.FindMoveDestination("VIEW", north)->host == "10.0.0.9");

  index.SyncConfiguredFacilities(
      {Facility("north", {"NORTH_CT"}, {"VIEW"},
                {{"READER", "10.0.0.7", 104}, {"VIEW", "10.0.0.9", 104}}),
       Facility("south", {"SOUTH_CT"}, {},
                {{"READER", "10.0.0.8", 105}, {"NORTH_CT", "10.0.0.5", 104}})});

  // Each facility has its own READER; north's store AE stays north's caller.
  REQUIRE(index.FindMoveDestination("READER", north));
  CHECK(index.FindMoveDestination("READER", north)->host == "10.0.0.7");
  REQUIRE(index.FindMoveDestination("READER", south));
  CHECK(index.FindMoveDestination("READER", south)->port == 105);
  CHECK(index.FindMoveDestination("VIEW", north)->host == "10.0.0.9");
  CHECK_FALSE(index.FindMoveDestination("VIEW", south));
  CHECK(index.FindMoveDestination("NORTH_CT", south)->host == "10.0.0.5");
  CHECK_FALSE(index.FindMoveDestination("NORTH_CT", north));

  const auto north_ct = index.FindCallers("NORTH_CT", "10.1.1.1");
  REQUIRE(north_ct.size() == 1);
  CHECK(north_ct[0].facility_name == "north");
  CHECK(north_ct[0].may_store);
  CHECK(index.FindCallers("READER", "10.1.1.1").empty());  // destinations never call in
  const auto view = index.FindCallers("VIEW", "10.1.1.1");
  REQUIRE(view.size() == 1);
  CHECK_FALSE(view[0].may_store);

  // Nothing was deleted: every old row is still there (READER's old row is
  // now south's destination row).
  CHECK(sql.Count("SELECT count(*) FROM application_entities WHERE id <= 3") == 3);
  CHECK(sql.Count("SELECT count(*) FROM application_entities WHERE enabled") == 7);
}

TEST_CASE("start-up is refused when one calling AE title and address name two facilities",
          "[identity][startup]") {
  TempDir work("hokan-it-identity");
  const fs::path config = work.path() / "ambiguous.ini";
  WriteFileBytes(config,
                 "[archive]\nae_title = HOKAN\n[database]\nurl = dbname=x\n"
                 "[facility.general_hospital]\nstore_ae_titles = CT1\n"
                 "allowed_peers = 10.0.0.0/8\n"
                 "[facility.eye_clinic]\nquery_ae_titles = CT1\nallowed_peers = 10.20.0.0/16\n");
  const ToolResult refused = RunTool({ArchiveBinary().string(), "--config", config.string()},
                                     {{"HOKAN_DATABASE_URL", ""}});
  INFO(refused.Describe());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("'CT1'"));
  CHECK_THAT(refused.output, Catch::Contains("facility 'general_hospital'"));
  CHECK_THAT(refused.output, Catch::Contains("facility 'eye_clinic'"));
}

}  // namespace hokan::integration
