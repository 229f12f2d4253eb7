// hokan-forward receiving: the local C-STORE SCP for the facility's
// modalities, the durable spool, watched-folder import, a full spool, and
// kill -9 right after an acknowledged store. No archive is involved here:
// the relay's timing is per_exam with a week of quiet (RelayOptions'
// default), so everything received stays in the spool for inspection.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <set>

#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"
#include "tests/integration/relay_process.h"
#include "tests/integration/test_support.h"

namespace hokan::integration {
namespace {

// Every instance is queued once, its data set byte-identical to the original.
void CheckSpooledIdentical(const RelayProcess& relay,
                           const std::vector<GeneratedInstance>& instances) {
  const std::vector<RelayItem> items = relay.Items();
  REQUIRE(items.size() == instances.size());
  for (const auto& instance : instances) {
    INFO(instance.sop_instance_uid);
    auto item = std::find_if(items.begin(), items.end(), [&](const RelayItem& candidate) {
      return candidate.sop_instance_uid == instance.sop_instance_uid;
    });
    REQUIRE(item != items.end());
    // The data set is bit-preserved; the receiver writes its own file meta
    // header (Source AE Title, implementation), as the archive does.
    CHECK(ReadPart10(item->file).data_set == ReadPart10(instance.path).data_set);
    const std::string spooled = ReadFileBytes(item->file);
    CHECK(item->sha256_hex == Sha256Hex(spooled));
    CHECK(item->size_bytes == static_cast<std::int64_t>(spooled.size()));
  }
}

std::size_t FilesIn(const fs::path& folder) {
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file()) ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("the relay spools a study from storescu, byte-identical, and shows it in status",
          "[relay][relay-receive]") {
  TempDir data("hokan-it-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "5"});
  RelayProcess relay;
  relay.Start();

  const ToolResult store = relay.StoreScu("MODALITY", {"-v"}, PathsOf(instances));
  INFO(store.Describe());
  REQUIRE(store.exit_code == 0);
  CHECK(CountStoreSuccesses(store.output) == 5);

  CheckSpooledIdentical(relay, instances);
  const ToolResult status = relay.Status();
  INFO(status.Describe());
  CHECK(status.exit_code == 0);
  CHECK(status.output.find("spooled 5\n") != std::string::npos);
  CHECK(status.output.find("oldest unsent: 20") != std::string::npos);
  CHECK(status.output.find("last success: never") != std::string::npos);
  CHECK(status.output.find("parked failures: 0") != std::string::npos);
  CHECK(status.output.find("watermark") != std::string::npos);
  CHECK(FilesIn(relay.spool_dir() / "incoming") == 0);

  SECTION("the same files again are acknowledged and not queued twice") {
    const ToolResult again = relay.StoreScu("MODALITY", {"-v"}, PathsOf(instances));
    INFO(again.Describe());
    CHECK(again.exit_code == 0);
    CHECK(relay.Items().size() == 5);
  }
}

TEST_CASE("the relay rejects a calling AE title it does not know at association",
          "[relay][relay-receive]") {
  TempDir data("hokan-it-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "1"});
  RelayProcess relay;
  relay.Start();

  const ToolResult store = relay.StoreScu("STRANGER", {"-v"}, PathsOf(instances));
  INFO(store.Describe());
  CHECK(store.exit_code != 0);
  CHECK(store.output.find("Calling AE Title Not Recognized") != std::string::npos);
  CHECK(relay.Items().empty());
  CHECK(relay.Log().find("association from STRANGER") != std::string::npos);
}

TEST_CASE("the relay answers 0xC000 to a broken data set and queues nothing",
          "[relay][relay-receive]") {
  TempDir data("hokan-it-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "1"});
  const Part10File whole = ReadPart10(instances[0].path);
  RelayProcess relay;
  relay.Start();

  // Cut inside the StudyInstanceUID value: the element announces more bytes
  // than the data set has.
  const std::size_t at = whole.data_set.find(std::string("\x20\x00\x0d\x00UI", 6));
  REQUIRE(at != std::string::npos);
  RawDicomConnection raw(relay.port());
  const std::vector<PresentationContextProposal> contexts = {
      {1, whole.media_storage_sop_class_uid, {whole.transfer_syntax_uid}}};
  REQUIRE(raw.Associate("MODALITY", relay.ae_title(), contexts).kind ==
          AssociateOutcome::Kind::kAccepted);
  const std::uint16_t status = raw.Store(1, 1, whole.media_storage_sop_class_uid,
                                         whole.media_storage_sop_instance_uid,
                                         whole.data_set.substr(0, at + 20));
  CHECK(StatusHex(status) == StatusHex(0xC000));
  raw.Release();

  CHECK(relay.Items().empty());
  CHECK(FilesIn(relay.spool_dir() / "incoming") == 0);
  CHECK(ContainsIgnoreCase(relay.Log(), "refused with 0xC000"));
  // Still serving.
  const ToolResult store = relay.StoreScu("MODALITY", {"-v"}, PathsOf(instances));
  INFO(store.Describe());
  CHECK(store.exit_code == 0);
  CHECK(relay.Items().size() == 1);
}

TEST_CASE("kill -9 right after storescu finished loses no acknowledged instance",
          "[relay][relay-receive][crash]") {
  TempDir data("hokan-it-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "20"});
  RelayProcess relay;
  relay.Start();
  const ToolResult store = relay.StoreScu("MODALITY", {"-v"}, PathsOf(instances));
  INFO(store.Describe());
  REQUIRE(store.exit_code == 0);
  relay.Kill();
  // A half-written arrival left behind by a crash is swept at start-up.
  WriteFileBytes(relay.spool_dir() / "incoming" / "leftover.part", "half a file");

  relay.Start();
  CheckSpooledIdentical(relay, instances);
  CHECK(FilesIn(relay.spool_dir() / "incoming") == 0);
  CHECK(relay.Log().find("start-up sweep removed 1 incomplete incoming file(s)") !=
        std::string::npos);
}

TEST_CASE("files dropped into the import folder are spooled and removed; others rejected",
          "[relay][relay-import]") {
  TempDir data("hokan-it-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "3"});
  RelayOptions options;
  options.import = true;
  RelayProcess relay(options);
  relay.Start();

  // Written under a skipped name, then renamed: the relay never sees half a file.
  for (const auto& instance : instances) {
    const fs::path hidden = relay.import_dir() / ("." + instance.path.filename().string());
    fs::copy_file(instance.path, hidden);
    fs::rename(hidden, relay.import_dir() / instance.path.filename());
  }
  WriteFileBytes(relay.import_dir() / ".notes.tmp", "not DICOM at all\n");
  fs::rename(relay.import_dir() / ".notes.tmp", relay.import_dir() / "notes.txt");

  REQUIRE(WaitUntil([&] { return FilesIn(relay.import_dir()) == 0; }, 30s));
  CheckSpooledIdentical(relay, instances);
  CHECK(fs::exists(relay.import_dir() / "rejected" / "notes.txt"));
  const std::string reason =
      ReadFileBytes(relay.import_dir() / "rejected" / "notes.txt.reason");
  CHECK_FALSE(reason.empty());
  CHECK(relay.Log().find("notes.txt rejected") != std::string::npos);
}

TEST_CASE("a spool under its free-space floor answers 0xA700 and keeps serving",
          "[relay][relay-receive][disk-full]") {
  TempDir data("hokan-it-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "2"});
  RelayOptions options;
  // More than any test volume has free: the relay is "full".
  options.settings["relay"] = {"min_free_bytes = 9000000000000000000"};
  RelayProcess relay(options);
  relay.Start();

  const ToolResult refused = relay.StoreScu("MODALITY", {"-d"}, PathsOf(instances));
  INFO(refused.Describe());
  // storescu stops at the first refusal.
  CHECK(DimseStatusesFromDebugOutput(refused.output) == std::vector<std::uint16_t>{0xA700});
  CHECK(refused.exit_code == StorescuExitCodeFor(0xA700));
  CHECK(relay.Running());
  CHECK(relay.Items().empty());
  const ToolResult status = relay.Status();
  CHECK(status.output.find("UNDER: refusing C-STORE with 0xA700") != std::string::npos);
  CHECK(ContainsIgnoreCase(relay.Log(), "refused with 0xA700"));

  // Space returns (here: a normal floor) and the same files are accepted.
  relay.Stop();
  relay.options().settings["relay"] = {};
  relay.Start();
  const ToolResult accepted = relay.StoreScu("MODALITY", {"-v"}, PathsOf(instances));
  INFO(accepted.Describe());
  CHECK(accepted.exit_code == 0);
  CheckSpooledIdentical(relay, instances);
}

}  // namespace hokan::integration
