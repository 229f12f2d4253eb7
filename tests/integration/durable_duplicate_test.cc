// "Already stored" is answered only once the first copy is durable
// (issue 14, item 9). A second C-STORE of an instance another association
// is storing right now finds the final name taken and waits for the first
// store's index row. That row used to be committed while the first copy's
// flush was still running, so the second store could be answered success
// before the bytes were durable. Now a batch's flush ends before its rows
// are committed: the second store waits for the flush too.

#include <catch2/catch.hpp>

#include <fstream>
#include <future>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {

TEST_CASE("a duplicate store is not answered until the first copy is flushed",
          "[store][duplicate][durable_duplicate]") {
  TempDir data("hokan-it-durable-dup");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "1"});
  const fs::path failpoints = data.path() / "failpoints";
  fs::create_directories(failpoints);
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.environment = {{"HOKAN_FAILPOINTS", "ingest-during-flush=pause"},
                         {"HOKAN_FAILPOINT_DIR", failpoints.string()}};
  ArchiveProcess archive(options);

  // The first copy is placed; its flush is held.
  auto first = std::async(std::launch::async, [&] {
    return archive.StoreScu("IT_MODALITY", {"-d"}, PathsOf(instances));
  });
  REQUIRE(WaitUntil([&] { return fs::exists(failpoints / "ingest-during-flush.reached"); },
                    60s));
  auto second = std::async(std::launch::async, [&] {
    return archive.StoreScu("IT_MODALITY", {"-d"}, PathsOf(instances));
  });
  // While the flush is held, neither is answered: no row is committed yet,
  // so the second waits (up to 10 s) for the first.
  const bool answered_while_held =
      second.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
  CHECK_FALSE(answered_while_held);
  CHECK(first.wait_for(std::chrono::seconds(0)) != std::future_status::ready);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);

  std::ofstream(failpoints / "ingest-during-flush.release") << "go\n";
  const ToolResult first_result = first.get();
  const ToolResult second_result = second.get();
  INFO(first_result.Describe());
  INFO(second_result.Describe());
  CHECK(DimseStatusesFromDebugOutput(first_result.output) == std::vector<std::uint16_t>{0x0000});
  CHECK(DimseStatusesFromDebugOutput(second_result.output) ==
        std::vector<std::uint16_t>{0x0000});
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
}

}  // namespace hokan::integration
