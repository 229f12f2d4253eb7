// Hostile and broken input: garbage on the port, a transfer abandoned
// half-way, truncated data sets, UIDs that are not safe as path components,
// and data sets that contradict their C-STORE request. Each must be refused
// with the right status (or dropped) without leaving a row or a file, and
// the archive must keep serving.
//
// storescu cannot produce some of these: it takes the request's SOP Class
// and Instance UIDs from the data set itself (so they always agree), it
// refuses to read a truncated file ("Bad DICOM file"), and it cannot stop in
// the middle of a data set at a moment the test chooses. Those cases use
// RawDicomConnection (dicom_wire.h), which speaks the upper layer protocol
// byte by byte.

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <random>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"

namespace hokan::integration {
namespace {

const std::vector<PresentationContextProposal> kCtAndMr = {
    {1, kCtImageStorage, {kExplicitVrLittleEndian}},
    {3, kMrImageStorage, {kExplicitVrLittleEndian}},
};

std::string RandomBytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
  return bytes;
}

void RequireEchoWorks(ArchiveProcess& archive) {
  ToolResult echo = archive.Echo("IT_MODALITY");
  INFO(echo.Describe() << "\narchive log:\n" << archive.Log());
  REQUIRE(echo.exit_code == 0);
}

// No row and no stored file for `sop_uid`, anywhere below the storage root.
void CheckNothingStoredFor(ArchiveProcess& archive, const std::string& sop_uid) {
  INFO("SOP Instance UID " << sop_uid);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE sop_instance_uid = $1",
                            {sop_uid}) == 0);
  for (const auto& file : ListFilesRecursive(archive.storage_root())) {
    INFO("file " << file);
    CHECK(file.filename().string().find(sop_uid) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("garbage bytes on the DICOM port are dropped and the archive keeps serving",
          "[bad-input]") {
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  {
    RawDicomConnection raw(archive.port(), 10s);
    raw.SendBytes(RandomBytes(4096, 42));
    CHECK(raw.WaitForPeerClose(30s));
  }
  {
    // A well-formed A-ASSOCIATE-RQ header announcing a 4 GB PDU, then silence.
    RawDicomConnection raw(archive.port(), 10s);
    raw.SendBytes(std::string("\x01\x00\xff\xff\xff\xff", 6) + RandomBytes(100, 7));
    raw.Close();
  }
  {
    // Half a PDU header, then the connection just goes away.
    RawDicomConnection raw(archive.port(), 10s);
    raw.SendBytes(std::string("\x01\x00\x00", 3));
  }
  RequireEchoWorks(archive);
  CHECK(archive.Running());
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
}

TEST_CASE("a C-STORE abandoned in the middle of a large data set leaves nothing behind",
          "[bad-input]") {
  TempDir data("hokan-it-abort");
  // 3200 x 3200 x 2 bytes: a 20 MB data set.
  auto instances =
      MakeStudy(data.path() / "big", {"--count", "1", "--rows", "3200", "--columns", "3200"});
  REQUIRE(instances.size() == 1);
  const Part10File big = ReadPart10(instances[0].path);
  REQUIRE(big.data_set.size() > 20'000'000);

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  // Two ways an SCU goes away mid-transfer: its process dies (the socket is
  // just closed), or it sends A-ABORT.
  for (const bool send_abort : {false, true}) {
    INFO((send_abort ? "A-ABORT" : "connection closed") << " in the middle of the data set");
    {
      RawDicomConnection raw(archive.port());
      auto outcome = raw.Associate("IT_MODALITY", archive.ae_title(), kCtAndMr);
      REQUIRE(outcome.kind == AssociateOutcome::Kind::kAccepted);
      raw.SendStoreCommand(1, 1, kCtImageStorage, big.media_storage_sop_instance_uid);
      // An even cut: an odd PDV would be a protocol error of its own.
      raw.SendDataSet(1, std::string_view(big.data_set).substr(0, big.data_set.size() / 4 * 2),
                      /*last=*/false);
      // Leave only once the archive is demonstrably receiving into a file.
      bool receiving = WaitUntil(
          [&] {
            for (const auto& f : ListFilesRecursive(archive.incoming_dir())) {
              std::error_code ec;
              if (fs::file_size(f, ec) > 0) return true;
            }
            return false;
          },
          30s, 10ms);
      CHECK(receiving);
      if (send_abort) {
        raw.Abort();
      } else {
        raw.Close();
      }
    }
    // The partial file goes away (while running, or at the latest at the
    // next start-up sweep; the first is expected of a running node).
    bool cleaned =
        WaitUntil([&] { return ListFilesRecursive(archive.incoming_dir()).empty(); }, 15s, 50ms);
    INFO("archive log:\n" << archive.Log());
    CHECK(cleaned);
    if (!cleaned) {
      archive.Restart();
      CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
    }
    CheckNothingStoredFor(archive, big.media_storage_sop_instance_uid);
    RequireEchoWorks(archive);
  }

  // The same instance sent completely afterwards is stored normally.
  ToolResult store = archive.StoreScu("IT_MODALITY", {"-v"}, {instances[0].path.string()});
  INFO(store.Describe());
  CHECK(store.exit_code == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE sop_instance_uid = $1",
                            {big.media_storage_sop_instance_uid}) == 1);
}

TEST_CASE("a truncated data set is refused with 0xC000", "[bad-input]") {
  TempDir data("hokan-it-trunc");
  auto instances = MakeStudy(data.path() / "one", {"--count", "1"});
  REQUIRE(instances.size() == 1);
  const Part10File whole = ReadPart10(instances[0].path);
  const std::string sop_uid = whole.media_storage_sop_instance_uid;

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  SECTION("storescu refuses to send a truncated file: nothing reaches the archive") {
    std::string bytes = ReadFileBytes(instances[0].path);
    const fs::path truncated = data.path() / "truncated.dcm";
    WriteFileBytes(truncated, bytes.substr(0, bytes.size() - 1000));
    // With -R storescu reads its input before associating and refuses it;
    // without, it associates, then fails reading ("Bad DICOM file") and
    // aborts the association before sending a request.
    ToolResult checked = archive.StoreScu("IT_MODALITY", {"-v", "-R"}, {truncated.string()});
    INFO(checked.Describe());
    CHECK(checked.exit_code == 1);
    CHECK(checked.output.find("missing SOP class (or instance) in file") != std::string::npos);
    CHECK(checked.output.find("Requesting Association") == std::string::npos);

    ToolResult unchecked = archive.StoreScu("IT_MODALITY", {"-v"}, {truncated.string()});
    INFO(unchecked.Describe());
    CHECK(unchecked.exit_code == 1);
    CHECK(unchecked.output.find("Bad DICOM file") != std::string::npos);
    CHECK(unchecked.output.find("Sending Store Request") == std::string::npos);
  }

  SECTION("cut inside an attribute of the header (raw C-STORE)") {
    // Cut in the middle of the StudyInstanceUID value: the element announces
    // more bytes than the data set has.
    std::size_t at = whole.data_set.find(std::string("\x20\x00\x0d\x00UI", 6));
    REQUIRE(at != std::string::npos);
    RawDicomConnection raw(archive.port());
    REQUIRE(raw.Associate("IT_MODALITY", archive.ae_title(), kCtAndMr).kind ==
            AssociateOutcome::Kind::kAccepted);
    std::uint16_t status =
        raw.Store(1, 1, kCtImageStorage, sop_uid, whole.data_set.substr(0, at + 20));
    CHECK(StatusHex(status) == StatusHex(0xC000));
    raw.Release();
  }

  SECTION("cut inside the pixel data (raw C-STORE)") {
    RawDicomConnection raw(archive.port());
    REQUIRE(raw.Associate("IT_MODALITY", archive.ae_title(), kCtAndMr).kind ==
            AssociateOutcome::Kind::kAccepted);
    std::uint16_t status = raw.Store(1, 1, kCtImageStorage, sop_uid,
                                     whole.data_set.substr(0, whole.data_set.size() - 1000));
    CHECK(StatusHex(status) == StatusHex(0xC000));
    raw.Release();
  }

  CheckNothingStoredFor(archive, sop_uid);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
  RequireEchoWorks(archive);
}

TEST_CASE("UIDs that are not safe path components are refused with 0xC000", "[bad-input]") {
  TempDir data("hokan-it-uid");
  const std::string too_long = "1.2.3." + std::string(70, '1');  // 76 characters
  struct BadUid {
    const char* what;
    std::vector<std::string> args;
    std::string sop_uid;
  };
  const std::vector<BadUid> cases = {
      {"SOP Instance UID ../../etc/passwd",
       {"--sop-instance-uid", "../../etc/passwd"},
       "../../etc/passwd"},
      {"SOP Instance UID longer than 64 characters", {"--sop-instance-uid", too_long}, too_long},
      {"SOP Instance UID with a leading zero", {"--sop-instance-uid", "1.2.03.4"}, "1.2.03.4"},
      {"SOP Instance UID with a letter", {"--sop-instance-uid", "1.2.3.4a"}, "1.2.3.4a"},
      {"Study Instance UID ../../escaped", {"--study-uid", "../../escaped"}, ""},
      {"Series Instance UID ../x", {"--series-uid", "../x"}, ""},
  };

  const std::string passwd_before = Sha256Hex(ReadFileBytes("/etc/passwd"));
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  int n = 0;
  for (const auto& bad : cases) {
    INFO(bad.what);
    std::vector<std::string> args{"--count", "1"};
    args.insert(args.end(), bad.args.begin(), bad.args.end());
    auto instances = MakeStudy(data.path() / fmt::format("case{}", n++), args);
    REQUIRE(instances.size() == 1);
    ToolResult store = archive.StoreScu("IT_MODALITY", {"-d"}, {instances[0].path.string()});
    INFO(store.Describe());
    auto statuses = DimseStatusesFromDebugOutput(store.output);
    REQUIRE(statuses.size() == 1);
    CHECK(StatusHex(statuses[0]) == StatusHex(0xC000));
    CHECK(store.exit_code == StorescuExitCodeFor(0xC000));
    if (!bad.sop_uid.empty()) {
      CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE sop_instance_uid = $1",
                                {bad.sop_uid}) == 0);
    }
  }

  // Nothing stored, nothing written anywhere else.
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM studies") == 0);
  CHECK(ListFilesRecursive(archive.storage_root()).empty());
  for (const auto& file : ListFilesRecursive(archive.work_dir())) {
    INFO("unexpected file " << file);
    const std::string name = file.filename().string();
    CHECK(name.find("passwd") == std::string::npos);
    CHECK(name.find("escaped") == std::string::npos);
    CHECK(name.find(".dcm") == std::string::npos);
  }
  CHECK(!fs::exists(archive.work_dir() / "escaped"));
  CHECK(Sha256Hex(ReadFileBytes("/etc/passwd")) == passwd_before);
  CHECK(ContainsIgnoreCase(archive.Log(), "0xC000"));
  RequireEchoWorks(archive);
}

TEST_CASE("a data set that contradicts its C-STORE request is refused with 0xA900", "[bad-input]") {
  TempDir data("hokan-it-mismatch");
  auto instances = MakeStudy(data.path() / "one", {"--count", "1", "--modality", "CT"});
  REQUIRE(instances.size() == 1);
  const Part10File ct = ReadPart10(instances[0].path);
  const std::string sop_uid = ct.media_storage_sop_instance_uid;

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  RawDicomConnection raw(archive.port());
  auto outcome = raw.Associate("IT_MODALITY", archive.ae_title(), kCtAndMr);
  REQUIRE(outcome.kind == AssociateOutcome::Kind::kAccepted);
  REQUIRE(outcome.accepted.count(1) == 1);
  REQUIRE(outcome.accepted.count(3) == 1);

  // A CT data set sent as MR Image Storage (on the MR context).
  CHECK(StatusHex(raw.Store(3, 1, kMrImageStorage, sop_uid, ct.data_set)) == StatusHex(0xA900));
  // A data set whose SOP Instance UID is not the one the request names.
  CHECK(StatusHex(raw.Store(1, 2, kCtImageStorage, "2.25.12345678901234567890", ct.data_set)) ==
        StatusHex(0xA900));
  CheckNothingStoredFor(archive, sop_uid);
  CheckNothingStoredFor(archive, "2.25.12345678901234567890");
  CHECK(ContainsIgnoreCase(archive.Log(), "0xA900"));
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());

  // The association is still usable: the consistent request succeeds.
  CHECK(StatusHex(raw.Store(1, 3, kCtImageStorage, sop_uid, ct.data_set)) == StatusHex(0x0000));
  raw.Release();
  CHECK(archive.sql().Count("SELECT count(*) FROM instances WHERE sop_instance_uid = $1",
                            {sop_uid}) == 1);
}

TEST_CASE("a file whose meta header names another SOP Class is stored under the data set's",
          "[bad-input]") {
  // storescu takes the request's SOP Class from the data set and never sends
  // the file meta header, so such a file is not a mismatch on the wire: it
  // is stored, and the archive's own meta header names the data set's class.
  TempDir data("hokan-it-meta");
  auto instances = MakeStudy(data.path() / "one", {"--count", "1", "--modality", "CT"});
  REQUIRE(instances.size() == 1);
  std::string bytes = ReadFileBytes(instances[0].path);
  const Part10File original = SplitPart10(bytes);
  const std::string ct_uid = std::string(kCtImageStorage) + '\0';
  const std::size_t at = bytes.find(ct_uid);  // (0002,0002), the first occurrence
  REQUIRE(at < original.data_set_offset);
  bytes.replace(at, ct_uid.size(), std::string(kMrImageStorage) + '\0');  // same length
  const fs::path patched = data.path() / "meta_says_mr.dcm";
  WriteFileBytes(patched, bytes);
  REQUIRE(ReadPart10(patched).media_storage_sop_class_uid == kMrImageStorage);

  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));
  ToolResult store = archive.StoreScu("IT_MODALITY", {"-d"}, {patched.string()});
  INFO(store.Describe());
  CHECK(DimseStatusesFromDebugOutput(store.output) == std::vector<std::uint16_t>{0x0000});
  auto rows = archive.sql().Query("SELECT sop_class_uid, relative_path FROM instances");
  REQUIRE(rows.size() == 1);
  CHECK(*rows[0][0] == kCtImageStorage);
  Part10File stored = ReadPart10(archive.storage_root() / *rows[0][1]);
  CHECK(stored.media_storage_sop_class_uid == kCtImageStorage);
  CHECK(stored.data_set == original.data_set);
}

}  // namespace hokan::integration
