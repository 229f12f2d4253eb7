// How a facility is identified (docs/architecture.md, "Identity"): address
// overlap, the start-up check of the configuration, and the choice among
// the facilities that know a calling AE title.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "archive/common/error.h"
#include "archive/config/config.h"
#include "archive/config/facility_identity.h"
#include "scp/admission.h"

using hokan::Error;
using hokan::archive::Caller;
using hokan::archive::PeerListsOverlap;
using hokan::scp::AdmissionVerdict;
using hokan::scp::ChooseCaller;

namespace {

using Peers = std::vector<std::string>;

// The configuration error `facilities` (section text) raises; "" if none.
std::string ErrorOf(const std::string& facilities) {
  try {
    hokan::archive::ParseConfig("[archive]\nae_title = HOKAN\n[database]\nurl = x\n" + facilities,
                                "test.ini", {});
  } catch (const Error& error) {
    CHECK(error.code() == hokan::ErrorCode::kConfiguration);
    return error.what();
  }
  return "";
}

Caller CallerAt(std::int64_t id, const std::string& facility, bool peer_allowed,
                bool may_store = true) {
  Caller caller;
  caller.facility_id = id;
  caller.facility_name = facility;
  caller.may_store = may_store;
  caller.peer_allowed = peer_allowed;
  return caller;
}

}  // namespace

TEST_CASE("allowed_peers lists overlap when some address is in both") {
  struct Case {
    Peers first, second;
    bool overlap;
  };
  const Case cases[] = {
      {{}, {}, true},                                   // any and any
      {{}, {"10.0.0.1"}, true},                         // any holds every address
      {{"127.0.0.1"}, {"127.0.0.2"}, false},
      {{"127.0.0.1"}, {"127.0.0.1"}, true},
      {{"10.0.0.0/8"}, {"10.1.2.3"}, true},             // a network holds the address
      {{"10.0.0.0/8"}, {"10.1.0.0/16"}, true},          // one network inside the other
      {{"10.1.0.0/16"}, {"10.2.0.0/16"}, false},
      {{"192.168.1.0/25"}, {"192.168.1.128/25"}, false},
      {{"192.168.1.0/24"}, {"192.168.1.200"}, true},
      {{"172.16.0.0/12", "10.0.0.1"}, {"10.0.0.2", "172.31.255.255"}, true},
      {{"0.0.0.0/0"}, {"8.8.8.8"}, true},
      {{"::1"}, {"127.0.0.1"}, false},                  // IPv6 and IPv4 never overlap
      {{"fd00::/8"}, {"fd12::1"}, true},
      {{"fd00::/16"}, {"fd01::/16"}, false},
  };
  for (const auto& c : cases) {
    INFO(c.first.size() << " vs " << c.second.size() << " entries, first: "
                        << (c.first.empty() ? "any" : c.first.front()));
    CHECK(PeerListsOverlap(c.first, c.second) == c.overlap);
    CHECK(PeerListsOverlap(c.second, c.first) == c.overlap);
  }
}

TEST_CASE("start-up refuses a calling AE title that names two facilities") {
  const std::string message = ErrorOf(
      "[facility.north]\nstore_ae_titles = CT1\n"
      "[facility.south]\nquery_ae_titles = CT1\nallowed_peers = 10.0.0.0/8\n");
  CHECK_THAT(message, Catch::Contains("test.ini"));
  CHECK_THAT(message, Catch::Contains("'CT1'"));
  CHECK_THAT(message, Catch::Contains("facility 'north'"));
  CHECK_THAT(message, Catch::Contains("facility 'south'"));
  CHECK_THAT(message, Catch::Contains("'HOKAN'"));

  CHECK_THAT(ErrorOf("[facility.north]\nstore_ae_titles = CT1\nallowed_peers = 10.0.0.0/8\n"
                     "[facility.south]\nstore_ae_titles = CT1\nallowed_peers = 10.9.0.1\n"),
             Catch::Contains("facility 'north' (allowed_peers: 10.0.0.0/8) and facility "
                             "'south' (allowed_peers: 10.9.0.1)"));
}

TEST_CASE("the same calling AE title at two facilities, told apart, is accepted") {
  // By address.
  CHECK(ErrorOf("[facility.north]\nstore_ae_titles = CT1\nallowed_peers = 127.0.0.1\n"
                "[facility.south]\nstore_ae_titles = CT1\nallowed_peers = 127.0.0.2\n") == "");
  // By called AE title: one facility has its own archive AE titles.
  CHECK(ErrorOf("[facility.north]\nstore_ae_titles = CT1\n"
                "[facility.south]\nstore_ae_titles = CT1\narchive_ae_titles = SOUTH_PACS\n") ==
        "");
  // Both have their own.
  CHECK(ErrorOf("[facility.north]\nstore_ae_titles = CT1\narchive_ae_titles = NORTH_PACS\n"
                "[facility.south]\nstore_ae_titles = CT1\narchive_ae_titles = SOUTH_PACS, "
                "SOUTH_2\n") == "");
  // A destination of two facilities is no caller: nothing to tell apart.
  CHECK(ErrorOf("[facility.north]\nstore_ae_titles = A\nmove_destinations = READER@h:104\n"
                "[facility.south]\nstore_ae_titles = B\nmove_destinations = READER@h:105\n") ==
        "");
}

TEST_CASE("archive AE titles of facilities must each name one facility") {
  CHECK_THAT(ErrorOf("[facility.north]\nstore_ae_titles = CT1\narchive_ae_titles = HOKAN\n"),
             Catch::Contains("'facility.north.archive_ae_titles': 'HOKAN' is the shared"));
  CHECK_THAT(ErrorOf("[facility.north]\nstore_ae_titles = A\narchive_ae_titles = PACS\n"
                     "[facility.south]\nstore_ae_titles = B\narchive_ae_titles = PACS\n"),
             Catch::Contains("'PACS' is listed by facility 'north' and by facility 'south'"));
  CHECK_THAT(ErrorOf("[facility.north]\nstore_ae_titles = A\narchive_ae_titles = BAD\\1\n"),
             Catch::Contains("'facility.north.archive_ae_titles'"));
}

TEST_CASE("the called AE title, then the address, chooses among a calling AE's facilities") {
  const std::set<std::string> own = {"south"};  // south has its own archive AE title
  const std::vector<Caller> both = {CallerAt(1, "north", true), CallerAt(2, "south", true)};

  // The shared AE title serves north only; south's own title serves south only.
  auto shared = ChooseCaller(both, std::nullopt, own, "CT1", "10.0.0.1");
  REQUIRE(shared.verdict == AdmissionVerdict::kAccept);
  CHECK(shared.caller->facility_name == "north");
  auto south = ChooseCaller(both, std::string("south"), own, "CT1", "10.0.0.1");
  REQUIRE(south.verdict == AdmissionVerdict::kAccept);
  CHECK(south.caller->facility_id == 2);

  // On one shared title, the facility whose allowed networks hold the peer.
  const std::vector<Caller> by_address = {CallerAt(1, "north", false),
                                          CallerAt(2, "south", true)};
  auto chosen = ChooseCaller(by_address, std::nullopt, {}, "CT1", "127.0.0.2");
  REQUIRE(chosen.verdict == AdmissionVerdict::kAccept);
  CHECK(chosen.caller->facility_name == "south");

  // Nobody's address: peer not allowed; two: ambiguous, both named.
  CHECK(ChooseCaller({CallerAt(1, "north", false)}, std::nullopt, {}, "CT1", "1.2.3.4")
            .verdict == AdmissionVerdict::kPeerNotAllowed);
  auto ambiguous = ChooseCaller(both, std::nullopt, {}, "CT1", "10.0.0.1");
  CHECK(ambiguous.verdict == AdmissionVerdict::kCallerAmbiguous);
  CHECK_THAT(ambiguous.reason, Catch::Contains("north") && Catch::Contains("south"));

  // Unknown, or known only to a facility the called AE title does not serve.
  CHECK(ChooseCaller({}, std::nullopt, {}, "CT1", "10.0.0.1").verdict ==
        AdmissionVerdict::kCallingAeNotRecognized);
  CHECK(ChooseCaller({CallerAt(2, "south", true)}, std::nullopt, own, "CT1", "10.0.0.1")
            .verdict == AdmissionVerdict::kCallingAeNotRecognized);
  CHECK(ChooseCaller({CallerAt(1, "north", true)}, std::string("south"), own, "CT1", "10.0.0.1")
            .verdict == AdmissionVerdict::kCallingAeNotRecognized);
}

TEST_CASE("archive AE titles of the configuration map to their facilities") {
  const auto config = hokan::archive::ParseConfig(
      "[archive]\nae_title = HOKAN\n[database]\nurl = x\n"
      "[facility.north]\nstore_ae_titles = CT1\n"
      "[facility.south]\nstore_ae_titles = CT1\narchive_ae_titles = SOUTH_PACS, SOUTH_2\n",
      "test.ini", {});
  const auto titles = hokan::scp::ArchiveAeTitlesOf(config);
  CHECK(titles.shared == "HOKAN");
  CHECK(titles.own.at("SOUTH_PACS") == "south");
  CHECK(titles.own.at("SOUTH_2") == "south");
  CHECK(titles.own.count("HOKAN") == 0);
  CHECK(titles.facilities_with_own == std::set<std::string>{"south"});
}
