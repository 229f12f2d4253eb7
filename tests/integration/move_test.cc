// C-MOVE against a real archive with DCMTK's movescu, to a storescp the test
// starts as the move destination: whole studies, counts and final status,
// unknown destinations, decompression for a destination that accepts only
// uncompressed syntaxes, and partial failure with the failed UIDs.

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

using Destination = StoreScpDestination;

ArchiveOptions WithDestination(std::uint16_t port) {
  ArchiveOptions options;
  options.facilities = {{"clinic", {"IT_MODALITY"}, {}, {"IT_VIEWER"}}};
  options.extra_facility_lines = {
      "move_destinations = IT_VIEWER@127.0.0.1:" + std::to_string(port)};
  return options;
}

ToolResult Move(const ArchiveProcess& archive, const std::string& destination,
                const std::vector<std::string>& keys) {
  std::vector<std::string> argv = {"movescu", "-d", "-S", "-to", "5", "-ta", "10", "-td", "60",
                                   "-aet", "IT_VIEWER", "-aec", archive.ae_title(), "-aem",
                                   destination};
  for (const auto& key : keys) {
    argv.push_back("-k");
    argv.push_back(key);
  }
  argv.push_back("localhost");
  argv.push_back(std::to_string(archive.port()));
  return RunTool(argv);
}

std::string TransferSyntaxOf(const fs::path& file) {
  DcmFileFormat format;
  REQUIRE(format.loadFile(file.c_str()).good());
  OFString syntax;
  format.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, syntax);
  return syntax.c_str();
}

}  // namespace

TEST_CASE("C-MOVE sends a whole study to a known destination and reports the counts",
          "[move]") {
  TempDir data("hokan-it-move");
  auto study = MakeStudy(data.path() / "study", {"--count", "5"});
  Destination destination;
  ArchiveProcess archive(WithDestination(destination.port()));
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "study").string()})
              .exit_code == 0);
  const std::string study_uid = archive.sql().Value("SELECT study_instance_uid FROM studies");

  const ToolResult moved = Move(archive, "IT_VIEWER",
                                {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study_uid});
  INFO(moved.Describe());
  const auto statuses = DimseStatusesFromDebugOutput(moved.output);
  REQUIRE_FALSE(statuses.empty());
  CHECK(statuses.back() == 0x0000);
  // The final response carries the counts: 5 completed, none failed.
  CHECK(std::regex_search(moved.output, std::regex(R"(Completed Suboperations\s*:\s*5\b)")));
  CHECK(std::regex_search(moved.output, std::regex(R"(Failed Suboperations\s*:\s*0\b)")));
  const auto received = destination.Received();
  CHECK(received.size() == 5);

  SECTION("an unknown destination is refused with 0xA801") {
    const ToolResult refused = Move(archive, "NOWHERE",
                                    {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study_uid});
    INFO(refused.Describe());
    CHECK(DimseStatusesFromDebugOutput(refused.output).back() == 0xA801);
  }
  SECTION("a study UID that matches nothing moves nothing, successfully") {
    const ToolResult nothing = Move(archive, "IT_VIEWER",
                                    {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2.3.999"});
    INFO(nothing.Describe());
    CHECK(DimseStatusesFromDebugOutput(nothing.output).back() == 0x0000);
    CHECK(destination.Received().size() == 5);
  }
  SECTION("a wildcard in a C-MOVE key is refused") {
    const ToolResult refused = Move(archive, "IT_VIEWER",
                                    {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2.*"});
    INFO(refused.Describe());
    CHECK(DimseStatusesFromDebugOutput(refused.output).back() == 0xA900);
  }
}

TEST_CASE("C-MOVE decompresses for a destination without compressed syntaxes and reports "
          "what it cannot convert", "[move]") {
  const fs::path corpus = PydicomDataDir() / "test_files";
  // RLE can be decoded by DCMTK; JPEG 2000 cannot.
  const std::vector<fs::path> files = {corpus / "SC_rgb_rle.dcm", corpus / "JPEG2000.dcm"};
  Destination destination;  // storescp's default: uncompressed syntaxes only
  ArchiveProcess archive(WithDestination(destination.port()));
  TempDir work("hokan-it-move-profiles");
  const auto descriptions = DescribeDicom(files);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path profile = work.path() / ("profile" + std::to_string(i) + ".cfg");
    WriteSingleContextProfile(profile, descriptions[i].sop_class_uid,
                              descriptions[i].transfer_syntax_uid);
    const ToolResult stored =
        archive.StoreScu("IT_MODALITY", {"-xf", profile.string(), "ONLY"}, {files[i].string()});
    INFO(stored.Describe());
    REQUIRE(stored.exit_code == 0);
  }
  const auto rows = archive.sql().Query(
      "SELECT p.patient_id, i.sop_instance_uid, i.transfer_syntax_uid FROM instances i "
      "JOIN series e ON e.id = i.series_fk JOIN studies s ON s.id = e.study_fk "
      "JOIN patients p ON p.id = s.patient_fk");
  REQUIRE(rows.size() == 2);
  std::vector<std::string> all_uids;
  std::string j2k_uid;
  for (const auto& row : rows) {
    all_uids.push_back(*row[1]);
    if (*row[2] == "1.2.840.10008.1.2.4.90" || *row[2] == "1.2.840.10008.1.2.4.91") {
      j2k_uid = *row[1];
    }
  }
  REQUIRE_FALSE(j2k_uid.empty());

  const ToolResult moved =
      Move(archive, "IT_VIEWER",
           {"QueryRetrieveLevel=IMAGE", "SOPInstanceUID=" + all_uids[0] + "\\" + all_uids[1]});
  INFO(moved.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(DimseStatusesFromDebugOutput(moved.output).back() == 0xB000);
  CHECK_THAT(moved.output, Catch::Contains(j2k_uid));  // Failed SOP Instance UID List
  const auto received = destination.Received();
  REQUIRE(received.size() == 1);
  CHECK(TransferSyntaxOf(received[0]) == "1.2.840.10008.1.2.1");  // decompressed RLE
  CHECK_THAT(archive.Log(), Catch::Contains("cannot convert"));
}

TEST_CASE("C-GET returns a whole study on the same association with the counts", "[get]") {
  TempDir data("hokan-it-get");
  auto study = MakeStudy(data.path() / "study", {"--count", "4"});
  ArchiveOptions options;
  options.facilities = {{"clinic", {"IT_MODALITY"}, {}, {"IT_VIEWER"}},
                        {"other", {"IT_OTHER"}, {}, {}}};
  ArchiveProcess archive(options);
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "study").string()})
              .exit_code == 0);
  const std::string study_uid = archive.sql().Value("SELECT study_instance_uid FROM studies");

  auto get = [&](const std::string& calling_ae, const fs::path& out) {
    fs::create_directories(out);
    return RunTool({"getscu", "-d", "-S", "-to", "5", "-ta", "10", "-td", "60", "-aet",
                    calling_ae, "-aec", archive.ae_title(), "-od", out.string(), "-k",
                    "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study_uid,
                    "localhost", std::to_string(archive.port())});
  };
  const ToolResult got = get("IT_VIEWER", data.path() / "got");
  INFO(got.Describe());
  const auto statuses = DimseStatusesFromDebugOutput(got.output);
  REQUIRE_FALSE(statuses.empty());
  CHECK(statuses.back() == 0x0000);
  CHECK(std::regex_search(got.output, std::regex(R"(Completed Suboperations\s*:\s*4\b)")));
  const auto received = ListFilesRecursive(data.path() / "got");
  CHECK(received.size() == 4);
  // getscu names what it receives "CT.<SOP Instance UID>".
  std::set<std::string> returned;
  for (const auto& file : received) returned.insert(file.filename().string().substr(3));
  std::set<std::string> stored_uids;
  for (const auto& instance : study) stored_uids.insert(instance.sop_instance_uid);
  CHECK(returned == stored_uids);

  // Another facility's AE gets nothing of it.
  const ToolResult other = get("IT_OTHER", data.path() / "other");
  INFO(other.Describe());
  CHECK(DimseStatusesFromDebugOutput(other.output).back() == 0x0000);
  CHECK(ListFilesRecursive(data.path() / "other").empty());
}

TEST_CASE("C-CANCEL stops a C-MOVE between sub-operations and a C-FIND between matches",
          "[move][find][cancel]") {
  TempDir data("hokan-it-cancel");
  MakeStudy(data.path() / "study", {"--count", "300", "--rows", "8", "--columns", "8"});
  Destination destination;
  ArchiveProcess archive(WithDestination(destination.port()));
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "study").string()})
              .exit_code == 0);
  const std::string study_uid = archive.sql().Value("SELECT study_instance_uid FROM studies");

  std::vector<std::string> move = {"movescu", "-d", "-S", "--cancel", "1", "-aet", "IT_VIEWER",
                                   "-aec", archive.ae_title(), "-aem", "IT_VIEWER", "-k",
                                   "QueryRetrieveLevel=STUDY", "-k",
                                   "StudyInstanceUID=" + study_uid, "localhost",
                                   std::to_string(archive.port())};
  const ToolResult moved = RunTool(move);
  INFO(moved.Describe().substr(0, 3000) << "\narchive log:\n" << archive.Log());
  CHECK(DimseStatusesFromDebugOutput(moved.output).back() == 0xFE00);
  CHECK(destination.Received().size() < 300);
  CHECK_THAT(archive.Log(), Catch::Contains("status 0xFE00 (cancelled)"));

  std::vector<std::string> find = {"findscu", "-d", "-S", "--cancel", "1", "-aet", "IT_VIEWER",
                                   "-aec", archive.ae_title(), "-k", "QueryRetrieveLevel=IMAGE",
                                   "-k", "StudyInstanceUID=" + study_uid, "-k",
                                   "SeriesInstanceUID", "-k", "SOPInstanceUID", "localhost",
                                   std::to_string(archive.port())};
  // 300 small responses fit in the sockets' buffers: the archive may have
  // sent them all before findscu reads the first and sends its C-CANCEL,
  // and then rightly ends with success (PS3.4 C.4.1.2.3). So: up to three
  // tries, each cancelled with fewer matches or complete with all of them,
  // and at least one cancelled.
  bool cancelled = false;
  for (int attempt = 0; attempt < 3 && !cancelled; ++attempt) {
    const ToolResult found = RunTool(find);
    INFO(found.Describe().substr(0, 3000));
    const auto statuses = DimseStatusesFromDebugOutput(found.output);
    REQUIRE_FALSE(statuses.empty());
    cancelled = statuses.back() == 0xFE00;
    if (cancelled) {
      CHECK(CountOccurrences(found.output, "Pending") < 300);
    } else {
      CHECK(statuses.back() == 0x0000);
      CHECK(CountOccurrences(found.output, "Pending") >= 300);
    }
  }
  CHECK(cancelled);
  CHECK(archive.Echo("IT_VIEWER").exit_code == 0);
}

}  // namespace hokan::integration

namespace hokan::integration {

TEST_CASE("a deflated file moved to a destination that prefers deflate arrives whole",
          "[move]") {
  // The sender streams a stored data set's bytes as they are; a deflated one
  // is compressed by DIMSE on the way out, so it must not be streamed as is.
  const fs::path file = PydicomDataDir() / "test_files" / "image_dfl.dcm";
  StoreScpDestination destination({"+xd"});
  ArchiveProcess archive(WithDestination(destination.port()));
  const ToolResult stored = archive.StoreScu("IT_MODALITY", {"-xd"}, {file.string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  REQUIRE(archive.sql().Value("SELECT transfer_syntax_uid FROM instances") ==
          "1.2.840.10008.1.2.1.99");
  const std::string sop_instance_uid =
      archive.sql().Value("SELECT sop_instance_uid FROM instances");

  const ToolResult moved = Move(archive, "IT_VIEWER",
                                {"QueryRetrieveLevel=IMAGE",
                                 "StudyInstanceUID=" +
                                     archive.sql().Value("SELECT study_instance_uid FROM studies"),
                                 "SeriesInstanceUID=" +
                                     archive.sql().Value("SELECT series_instance_uid FROM series"),
                                 "SOPInstanceUID=" + sop_instance_uid});
  INFO(moved.Describe());
  const auto statuses = DimseStatusesFromDebugOutput(moved.output);
  REQUIRE_FALSE(statuses.empty());
  CHECK(statuses.back() == 0x0000);
  const auto received = destination.Received();
  REQUIRE(received.size() == 1);
  CHECK(TransferSyntaxOf(received[0]) == "1.2.840.10008.1.2.1.99");  // as stored
  DcmFileFormat original;
  DcmFileFormat arrived;
  REQUIRE(original.loadFile(file.c_str()).good());
  REQUIRE(arrived.loadFile(received[0].c_str()).good());
  OFString original_uid, arrived_uid;
  original.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, original_uid);
  arrived.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, arrived_uid);
  CHECK(arrived_uid == original_uid);
  CHECK(arrived.getDataset()->card() == original.getDataset()->card());
}

}  // namespace hokan::integration
