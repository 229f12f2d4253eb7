// Which facility an association belongs to (issue 14, "Identity"), against
// a real archive with DCMTK's tools: the called AE title, the calling AE
// title and the peer address together name it; one AE title may be a move
// destination of several facilities; destinations never call in.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

std::string Be16(std::size_t value) {
  return {static_cast<char>((value >> 8) & 0xff), static_cast<char>(value & 0xff)};
}

std::string Be32(std::size_t value) { return Be16(value >> 16) + Be16(value & 0xffff); }

std::string Item(std::uint8_t type, const std::string& value) {
  return std::string{static_cast<char>(type), '\0'} + Be16(value.size()) + value;
}

// A-ASSOCIATE-RQ proposing Verification (PS3.8 9.3.2).
std::string AssociateRequest(const std::string& calling_ae, const std::string& called_ae) {
  std::string called = called_ae, calling = calling_ae;
  called.resize(16, ' ');
  calling.resize(16, ' ');
  const std::string context = std::string("\x01\0\0\0", 4) + Item(0x30, "1.2.840.10008.1.1") +
                              Item(0x40, "1.2.840.10008.1.2");
  const std::string body = Be16(1) + Be16(0) + called + calling + std::string(32, '\0') +
                           Item(0x10, "1.2.840.10008.3.1.1.1") + Item(0x20, context) +
                           Item(0x50, Item(0x51, Be32(16384)) + Item(0x52, "1.2.3.4"));
  return std::string("\x01\0", 2) + Be32(body.size()) + body;
}

struct AssociateAnswer {
  int pdu_type = 0;       // 2 A-ASSOCIATE-AC, 3 A-ASSOCIATE-RJ
  int reject_reason = 0;  // when 3: 3 calling AE not recognized, 7 called AE not recognized
};

// Sends an A-ASSOCIATE-RQ from `source_address` (a loopback address other
// than 127.0.0.1, which DCMTK's tools cannot bind) to the archive on
// 127.0.0.1 and reads the answer; an accepted association is aborted.
AssociateAnswer AssociateFrom(const std::string& source_address, std::uint16_t port,
                              const std::string& calling_ae, const std::string& called_ae) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in source{}, target{};
  source.sin_family = target.sin_family = AF_INET;
  inet_pton(AF_INET, source_address.c_str(), &source.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
  target.sin_port = htons(port);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0);
  const std::string request = AssociateRequest(calling_ae, called_ae);
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  unsigned char header[10] = {};
  std::size_t got = 0;
  while (got < sizeof header) {
    const ssize_t n = recv(fd, header + got, sizeof header - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  AssociateAnswer answer;
  if (got == sizeof header) {
    answer.pdu_type = header[0];
    if (answer.pdu_type == 3) answer.reject_reason = header[9];
  }
  if (answer.pdu_type == 2) {
    const std::string abort_pdu("\x07\0\0\0\0\x04\0\0\0\0", 10);
    send(fd, abort_pdu.data(), abort_pdu.size(), MSG_NOSIGNAL);
  }
  close(fd);
  return answer;
}

ToolResult StoreTo(const ArchiveProcess& archive, const std::string& calling_ae,
                   const std::string& called_ae, const fs::path& folder) {
  return RunTool({"storescu", "-to", "5", "-ta", "10", "-td", "60", "-aet", calling_ae, "-aec",
                  called_ae, "+sd", "localhost", std::to_string(archive.port()),
                  folder.string()});
}

ToolResult Move(const ArchiveProcess& archive, const std::string& calling_ae,
                const std::string& destination, const std::string& study_uid) {
  return RunTool({"movescu", "-d", "-S", "-to", "5", "-ta", "10", "-td", "60", "-aet",
                  calling_ae, "-aec", archive.ae_title(), "-aem", destination, "-k",
                  "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + study_uid,
                  "localhost", std::to_string(archive.port())});
}

// The facility each stored study is filed under, by Study Instance UID.
std::string FacilityOfStudy(ArchiveProcess& archive, const std::string& study_uid) {
  return archive.sql().Value(
      "SELECT string_agg(f.name, ',') FROM studies s JOIN facilities f ON f.id = s.facility_id "
      "WHERE s.study_instance_uid = $1",
      {study_uid});
}

std::set<std::string> SopUids(const std::vector<GeneratedInstance>& instances) {
  std::set<std::string> uids;
  for (const auto& instance : instances) uids.insert(instance.sop_instance_uid);
  return uids;
}

std::set<std::string> ReceivedSopUids(const StoreScpDestination& destination) {
  std::set<std::string> uids;
  // storescp names each file "<modality>.<SOP Instance UID>".
  for (const auto& file : destination.Received()) uids.insert(file.filename().string().substr(3));
  return uids;
}

}  // namespace

TEST_CASE("two facilities share one move destination; each moves its own study there",
          "[identity][move]") {
  TempDir data("hokan-it-identity");
  const auto north_study = MakeStudy(data.path() / "north",
                                     {"--count", "3", "--study-uid", "1.2.826.0.1.3680043.14.1"});
  const auto south_study = MakeStudy(
      data.path() / "south", {"--count", "2", "--study-uid", "1.2.826.0.1.3680043.14.2"});
  StoreScpDestination reader;
  const std::string reader_address = "READER@127.0.0.1:" + std::to_string(reader.port());

  ArchiveOptions options;
  // North restricts its callers to 127.0.0.1; the destination-only AE is
  // refused from there too.
  options.facilities.push_back({"north", {"NORTH_CT"}, {"127.0.0.1"}, {"NORTH_VIEW"}, true});
  options.facility_lines["north"] = {"move_destinations = " + reader_address};
  // South lists the same reading station, and north's store AE, as its
  // destinations: neither changes north's rows.
  options.facilities.push_back({"south", {"SOUTH_CT"}, {}, {"SOUTH_VIEW"}, true});
  options.facility_lines["south"] = {"move_destinations = " + reader_address +
                                           ", NORTH_CT@127.0.0.1:" +
                                           std::to_string(reader.port())};
  ArchiveProcess archive(options);

  ToolResult stored = StoreTo(archive, "NORTH_CT", archive.ae_title(), data.path() / "north");
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  stored = StoreTo(archive, "SOUTH_CT", archive.ae_title(), data.path() / "south");
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  // NORTH_CT, also south's destination, still stores for north.
  CHECK(FacilityOfStudy(archive, "1.2.826.0.1.3680043.14.1") == "north");
  CHECK(FacilityOfStudy(archive, "1.2.826.0.1.3680043.14.2") == "south");

  ToolResult moved = Move(archive, "NORTH_VIEW", "READER", "1.2.826.0.1.3680043.14.1");
  INFO(moved.Describe());
  REQUIRE_FALSE(DimseStatusesFromDebugOutput(moved.output).empty());
  CHECK(DimseStatusesFromDebugOutput(moved.output).back() == 0x0000);
  CHECK(ReceivedSopUids(reader) == SopUids(north_study));
  reader.Clear();

  // North's viewer cannot move south's study anywhere, READER included.
  moved = Move(archive, "NORTH_VIEW", "READER", "1.2.826.0.1.3680043.14.2");
  INFO(moved.Describe());
  CHECK_FALSE(std::regex_search(moved.output,
                                std::regex(R"(Completed Suboperations\s*:\s*[1-9])")));
  CHECK(reader.Received().empty());

  moved = Move(archive, "SOUTH_VIEW", "READER", "1.2.826.0.1.3680043.14.2");
  INFO(moved.Describe());
  REQUIRE_FALSE(DimseStatusesFromDebugOutput(moved.output).empty());
  CHECK(DimseStatusesFromDebugOutput(moved.output).back() == 0x0000);
  CHECK(ReceivedSopUids(reader) == SopUids(south_study));

  CHECK(archive.sql().Count("SELECT count(*) FROM application_entities "
                            "WHERE ae_title = 'READER' AND role = 'destination' AND enabled") ==
        2);

  SECTION("a destination-only AE is never admitted as a caller") {
    const ToolResult echo = archive.Echo("READER");
    INFO(echo.Describe());
    CHECK(echo.exit_code != 0);
    CHECK(WaitUntil(
        [&] {
          return archive.Log().find("calling AE title 'READER' is not known") !=
                 std::string::npos;
        },
        10s));
    const AssociateAnswer raw = AssociateFrom("127.0.0.1", archive.port(), "READER",
                                              archive.ae_title());
    CHECK(raw.pdu_type == 3);
    CHECK(raw.reject_reason == 3);
  }
}

TEST_CASE("the same calling AE title at two facilities is told apart by the called AE title",
          "[identity]") {
  TempDir data("hokan-it-identity");
  MakeStudy(data.path() / "north", {"--count", "2", "--study-uid", "1.2.826.0.1.3680043.14.3"});
  MakeStudy(data.path() / "south", {"--count", "1", "--study-uid", "1.2.826.0.1.3680043.14.4"});

  ArchiveOptions options;
  options.facilities.push_back({"probe", {"PROBE"}, {}, {}, true});
  options.facilities.push_back({"north", {"CT1"}, {}, {}, true});
  options.facility_lines["north"] = {"archive_ae_titles = NORTH_PACS"};
  options.facilities.push_back({"south", {"CT1"}, {}, {}, true});
  options.facility_lines["south"] = {"archive_ae_titles = SOUTH_PACS, SOUTH_2"};
  ArchiveProcess archive(options);

  ToolResult stored = StoreTo(archive, "CT1", "NORTH_PACS", data.path() / "north");
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  stored = StoreTo(archive, "CT1", "SOUTH_2", data.path() / "south");
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  CHECK(FacilityOfStudy(archive, "1.2.826.0.1.3680043.14.3") == "north");
  CHECK(FacilityOfStudy(archive, "1.2.826.0.1.3680043.14.4") == "south");

  // The shared AE title serves neither (both have their own); a facility's
  // own title serves only its callers.
  const AssociateAnswer shared =
      AssociateFrom("127.0.0.1", archive.port(), "CT1", archive.ae_title());
  CHECK(shared.pdu_type == 3);
  CHECK(shared.reject_reason == 3);
  const AssociateAnswer probe = AssociateFrom("127.0.0.1", archive.port(), "PROBE", "NORTH_PACS");
  CHECK(probe.pdu_type == 3);
  CHECK(probe.reject_reason == 3);
  const AssociateAnswer unknown = AssociateFrom("127.0.0.1", archive.port(), "CT1", "ELSEWHERE");
  CHECK(unknown.pdu_type == 3);
  CHECK(unknown.reject_reason == 7);
  CHECK(archive.Echo("CT1", "SOUTH_PACS").exit_code == 0);
}

TEST_CASE("C-MOVE sub-operations call out as the archive AE title the mover called",
          "[identity][move]") {
  TempDir data("hokan-it-identity");
  MakeStudy(data.path() / "north", {"--count", "1", "--study-uid", "1.2.826.0.1.3680043.14.6"});
  // storescp runs `echo <calling AE title>` for each instance it receives.
  const fs::path callers = data.path() / "callers.txt";
  StoreScpDestination reader({"-xcr", "echo #a >> " + callers.string()});
  ArchiveOptions options;
  options.facilities.push_back({"probe", {"PROBE"}, {}, {}, true});  // the readiness echo
  options.facilities.push_back({"north", {"CT1"}, {}, {"VIEW1"}, true});
  options.facility_lines["north"] = {
      "archive_ae_titles = NORTH_PACS",
      "move_destinations = READER@127.0.0.1:" + std::to_string(reader.port())};
  ArchiveProcess archive(options);
  const ToolResult stored = StoreTo(archive, "CT1", "NORTH_PACS", data.path() / "north");
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);

  const ToolResult moved =
      RunTool({"movescu", "-S", "-aet", "VIEW1", "-aec", "NORTH_PACS", "-aem", "READER", "-k",
               "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.826.0.1.3680043.14.6",
               "localhost", std::to_string(archive.port())});
  INFO(moved.Describe());
  REQUIRE(moved.exit_code == 0);
  REQUIRE(WaitUntil([&] { return fs::exists(callers) && fs::file_size(callers) > 0; }, 10s));
  CHECK(ReadFileBytes(callers) == "NORTH_PACS\n");
}

TEST_CASE("the same calling AE title at two facilities is told apart by the peer address",
          "[identity]") {
  TempDir data("hokan-it-identity");
  MakeStudy(data.path() / "north", {"--count", "1", "--study-uid", "1.2.826.0.1.3680043.14.5"});

  ArchiveOptions options;
  options.facilities.push_back({"north", {"CT1"}, {"127.0.0.1"}, {}, true});
  options.facilities.push_back({"south", {"CT1"}, {"127.0.0.2/32"}, {}, true});
  ArchiveProcess archive(options);

  const ToolResult stored = StoreTo(archive, "CT1", archive.ae_title(), data.path() / "north");
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  CHECK(FacilityOfStudy(archive, "1.2.826.0.1.3680043.14.5") == "north");

  const AssociateAnswer south = AssociateFrom("127.0.0.2", archive.port(), "CT1",
                                              archive.ae_title());
  CHECK(south.pdu_type == 2);
  CHECK(WaitUntil(
      [&] { return archive.Log().find("CT1@127.0.0.2 (facility south)") != std::string::npos; },
      10s));
  const AssociateAnswer elsewhere = AssociateFrom("127.0.0.3", archive.port(), "CT1",
                                                  archive.ae_title());
  CHECK(elsewhere.pdu_type == 3);
  CHECK(elsewhere.reject_reason == 3);
}

TEST_CASE("a purpose granted to a calling AE title at one facility is not granted at another",
          "[identity][purpose]") {
  ArchiveOptions options;
  options.facilities.push_back({"north", {"CT1"}, {"127.0.0.1"}, {}, true});
  options.facilities.push_back({"south", {"CT1"}, {"127.0.0.2/32"}, {}, true});
  ArchiveProcess archive(options);
  ToolResult result = Admin(archive, {"purpose", "add", "referral", "--called-ae", "HOKAN_REF",
                                      "--modalities", "*", "--by", "it"});
  INFO(result.Describe());
  REQUIRE(result.exit_code == 0);

  // CT1 is a caller of both facilities: the grant must name one.
  result = Admin(archive, {"purpose", "grant", "referral", "--ae", "CT1", "--by", "it"});
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.output, Catch::Contains("is a calling AE title of facilities north,south"));
  result = Admin(archive, {"purpose", "grant", "referral", "--ae", "CT1", "--facility", "north",
                           "--by", "it"});
  INFO(result.Describe());
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("CT1 of facility north may retrieve under purpose"));
  CHECK_THAT(Admin(archive, {"purpose", "list"}).output, Catch::Contains("CT1@north"));

  // North's CT1 retrieves under the purpose; south's CT1 is not granted it.
  CHECK(AssociateFrom("127.0.0.1", archive.port(), "CT1", "HOKAN_REF").pdu_type == 2);
  const AssociateAnswer south = AssociateFrom("127.0.0.2", archive.port(), "CT1", "HOKAN_REF");
  CHECK(south.pdu_type == 3);
  CHECK(south.reject_reason == 3);
  CHECK(WaitUntil(
      [&] {
        return archive.Log().find("'CT1' of facility south is not granted purpose 'referral'") !=
               std::string::npos;
      },
      10s));

  // A revoke names the facility the same way; south had no grant to revoke.
  result = Admin(archive, {"purpose", "revoke", "referral", "--ae", "CT1", "--facility", "south",
                           "--by", "it"});
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.output, Catch::Contains("--ae 'CT1' of facility south has no grant"));
}

}  // namespace hokan::integration
