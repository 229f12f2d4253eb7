// Ingest under concurrency: one study's instances arriving interleaved on
// several associations at once (a router, or a modality sending in
// parallel) must all be stored, each once, with exact study, series and
// usage counters: contention on the shared rows is never a refusal.

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <future>
#include <string>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

// Waits for every send; each must have stored `expected_each` instances.
void ExpectAllStored(std::vector<std::future<ToolResult>>& sends, int expected_each) {
  for (std::size_t a = 0; a < sends.size(); ++a) {
    const ToolResult store = sends[a].get();
    INFO(fmt::format("association {}: {}", a + 1, store.Describe()));
    CHECK(store.exit_code == 0);
    CHECK(CountStoreSuccesses(store.output) == expected_each);
  }
}

// A second node of `first`: same facility, database and storage root.
ArchiveOptions SecondNodeOptions(const ArchiveProcess& first) {
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.shared_database_url = first.database_url();
  options.shared_storage_root = first.storage_root().string();
  options.extra_archive_settings.push_back("node_name = hokan-it-second");
  return options;
}

}  // namespace

TEST_CASE("one study's instances sent interleaved on 4 associations are all stored once",
          "[store][concurrency]") {
  constexpr int kAssociations = 4;
  constexpr int kInstances = 240;
  TempDir data("hokan-it-interleaved");
  const auto instances =
      MakeStudy(data.path() / "study", {"--count", std::to_string(kInstances), "--series-count",
                                        "3", "--rows", "16", "--columns", "16", "--patient-id",
                                        "PAT-PARALLEL"});
  REQUIRE(instances.size() == kInstances);
  // Round robin: neighbouring instances of every series go on different
  // associations, so all four write the same study and series rows at once.
  std::vector<std::vector<std::string>> files(kAssociations);
  for (std::size_t i = 0; i < instances.size(); ++i) {
    files[i % kAssociations].push_back(instances[i].path.string());
  }

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  std::vector<std::future<ToolResult>> sends;
  for (const auto& share : files) {
    sends.push_back(std::async(std::launch::async, [&archive, &share] {
      return archive.StoreScu("IT_MODALITY", {"-v"}, share);
    }));
  }
  ExpectAllStored(sends, kInstances / kAssociations);

  Sql& sql = archive.sql();
  CHECK(sql.Count("SELECT count(*) FROM instances") == kInstances);
  CHECK(sql.Count("SELECT count(DISTINCT sop_instance_uid) FROM instances") == kInstances);
  CHECK(sql.Count("SELECT count(*) FROM series") == 3);
  CHECK(sql.Count("SELECT count(*) FROM studies") == 1);
  CHECK(sql.Count("SELECT number_of_instances FROM studies") == kInstances);
  CHECK(sql.Count("SELECT number_of_series FROM studies") == 3);
  CHECK(sql.Count("SELECT sum(number_of_instances) FROM series") == kInstances);
  CHECK(sql.Count("SELECT instances FROM facility_usage") == kInstances);
  CHECK(sql.Count("SELECT used_bytes FROM facility_usage") ==
        sql.Count("SELECT sum(size_bytes) FROM instances"));
}


namespace hokan::integration {

TEST_CASE("two nodes on one database receiving the same instances at once store each once",
          "[store][concurrency]") {
  constexpr int kInstances = 120;
  TempDir data("hokan-it-two-nodes");
  const auto instances =
      MakeStudy(data.path() / "study", {"--count", std::to_string(kInstances), "--series-count",
                                        "2", "--rows", "16", "--columns", "16"});
  REQUIRE(instances.size() == kInstances);
  std::vector<std::string> files;
  for (const auto& instance : instances) files.push_back(instance.path.string());

  ArchiveProcess first(SingleFacilityOptions("IT_MODALITY"));
  ArchiveProcess second(SecondNodeOptions(first));

  std::vector<std::future<ToolResult>> sends;
  for (ArchiveProcess* node : {&first, &second}) {
    sends.push_back(std::async(std::launch::async, [node, &files] {
      return node->StoreScu("IT_MODALITY", {"-v"}, files);
    }));
  }
  ExpectAllStored(sends, kInstances);
  Sql& sql = first.sql();
  CHECK(sql.Count("SELECT count(*) FROM instances") == kInstances);
  CHECK(sql.Count("SELECT number_of_instances FROM studies") == kInstances);
  CHECK(sql.Count("SELECT instances FROM facility_usage") == kInstances);
}

}  // namespace hokan::integration

namespace hokan::integration {

TEST_CASE("two nodes each receiving half of one study on two associations store all of it",
          "[store][concurrency]") {
  constexpr int kInstances = 160;
  constexpr int kShares = 4;  // two associations per node
  TempDir data("hokan-it-two-nodes-halves");
  const auto instances =
      MakeStudy(data.path() / "study", {"--count", std::to_string(kInstances), "--series-count",
                                        "4", "--rows", "16", "--columns", "16"});
  REQUIRE(instances.size() == kInstances);
  std::vector<std::vector<std::string>> files(kShares);
  for (std::size_t i = 0; i < instances.size(); ++i) {
    files[i % kShares].push_back(instances[i].path.string());
  }

  ArchiveProcess first(SingleFacilityOptions("IT_MODALITY"));
  ArchiveProcess second(SecondNodeOptions(first));

  std::vector<std::future<ToolResult>> sends;
  for (int share = 0; share < kShares; ++share) {
    ArchiveProcess& node = share % 2 == 0 ? first : second;
    sends.push_back(std::async(std::launch::async, [&node, &files, share] {
      return node.StoreScu("IT_MODALITY", {"-v"}, files[share]);
    }));
  }
  ExpectAllStored(sends, kInstances / kShares);
  Sql& sql = first.sql();
  CHECK(sql.Count("SELECT count(*) FROM instances") == kInstances);
  CHECK(sql.Count("SELECT number_of_instances FROM studies") == kInstances);
  CHECK(sql.Count("SELECT number_of_series FROM studies") == 4);
  CHECK(sql.Count("SELECT sum(number_of_instances) FROM series") == kInstances);
  CHECK(sql.Count("SELECT studies FROM facility_usage") == 1);
  CHECK(sql.Count("SELECT instances FROM facility_usage") == kInstances);
}

TEST_CASE("facility usage stays exact while ingest's usage deltas are folded",
          "[store][concurrency]") {
  // One association: one commit batch per instance, so the commit thread
  // folds the deltas (every 64 batches) at least twice.
  constexpr int kInstances = 150;
  TempDir data("hokan-it-usage-fold");
  const auto instances = MakeStudy(
      data.path() / "study",
      {"--count", std::to_string(kInstances), "--rows", "16", "--columns", "16"});
  std::vector<std::string> files;
  for (const auto& instance : instances) files.push_back(instance.path.string());

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  const ToolResult store = archive.StoreScu("IT_MODALITY", {"-v"}, files);
  INFO(store.Describe());
  REQUIRE(CountStoreSuccesses(store.output) == kInstances);

  Sql& sql = archive.sql();
  // Folded: most deltas are gone into the totals...
  CHECK(sql.Count("SELECT instances FROM facility_usage_folded") >= 64);
  CHECK(sql.Count("SELECT count(*) FROM facility_usage_deltas") < kInstances - 64);
  // ...and what readers see is exact all the same.
  CHECK(sql.Count("SELECT instances FROM facility_usage") == kInstances);
  CHECK(sql.Count("SELECT studies FROM facility_usage") == 1);
  CHECK(sql.Count("SELECT used_bytes FROM facility_usage") ==
        sql.Count("SELECT sum(size_bytes) FROM instances"));
}

}  // namespace hokan::integration

TEST_CASE("index batches find their rows by key, however small the tables were when planned",
          "[store][concurrency]") {
  // The archive's connections plan hokan_index_batch's statements once, on
  // the first batch, here with empty tables. Each of the ~200 batches (one
  // association: one instance each) must still reach the instances table
  // through its indexes, never by reading it whole.
  constexpr int kInstances = 200;
  TempDir data("hokan-it-plans");
  const auto instances = MakeStudy(
      data.path() / "study", {"--count", std::to_string(kInstances), "--rows", "16", "--columns",
                              "16", "--patient-id", "PAT-PLANS"});
  std::vector<std::string> files;
  for (const auto& instance : instances) files.push_back(instance.path.string());

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  const ToolResult store = archive.StoreScu("IT_MODALITY", {"-v"}, files);
  INFO(store.Describe());
  REQUIRE(CountStoreSuccesses(store.output) == kInstances);
  REQUIRE(archive.Stop() == 0);

  // A backend reports its table statistics when it exits.
  Sql& sql = archive.sql();
  REQUIRE(WaitUntil(
      [&sql] {
        return sql.Count("SELECT count(*) FROM pg_stat_activity "
                         " WHERE datname = current_database() AND pid <> pg_backend_pid()") == 0;
      },
      std::chrono::seconds(10)));
  const std::int64_t whole_table_reads =
      sql.Count("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'instances'");
  INFO(fmt::format("sequential scans of instances while storing {} instances: {}", kInstances,
                   whole_table_reads));
  CHECK(whole_table_reads < 10);
  CHECK(sql.Count("SELECT count(*) FROM instances") == kInstances);
}

}  // namespace hokan::integration
