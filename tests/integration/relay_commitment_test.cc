// Storage Commitment around hokan-forward with a real hokan-archive: the
// archive's report arriving on a new association to the relay, and the
// relay answering a modality's request once the archive has committed —
// across a kill -9 of the relay. Asserts what the modality and the operator
// see: the N-EVENT-REPORT the modality receives, `hokan-forward status`,
// the relay's log and the archive's commitment records.

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/archive_process.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "tests/integration/commitment_peer.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"
#include "tests/integration/relay_process.h"

namespace hokan::integration {
namespace {

constexpr const char* kRelayAe = "SC_RELAY";
constexpr const char* kModalityAe = "SC_CT";
constexpr const char* kOtherModalityAe = "SC_MR";
constexpr const char* kNeverSentUid = "1.2.826.0.1.3680043.2.1125.998.1";
constexpr auto kDeadline = 90s;

ArchiveOptions ArchiveFor(std::uint16_t relay_port) {
  ArchiveOptions options = SingleFacilityOptions(kRelayAe);
  options.extra_facility_lines = {
      fmt::format("report_destinations = {}@127.0.0.1:{}", kRelayAe, relay_port)};
  return options;
}

RelayOptions RelayFor(const ArchiveProcess& archive, std::vector<std::string> timing,
                      std::vector<std::string> relay_lines = {},
                      std::vector<std::string> archive_lines = {}) {
  RelayOptions options;
  options.ae_title = kRelayAe;
  options.modality_ae_titles = {kModalityAe, kOtherModalityAe};
  options.archive_ae_title = archive.ae_title();
  options.archive_port = archive.port();
  timing.push_back("retry_initial_seconds = 1");
  timing.push_back("retry_max_seconds = 2");
  archive_lines.push_back("parallel_associations = 2");
  options.settings = {{"timing", timing}, {"relay", relay_lines}, {"archive", archive_lines}};
  return options;
}

std::vector<std::string> SortedUids(const std::vector<GeneratedInstance>& instances) {
  std::vector<std::string> uids;
  for (const auto& instance : instances) uids.push_back(instance.sop_instance_uid);
  std::sort(uids.begin(), uids.end());
  return uids;
}

std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

ActionAnswer AskRelay(const RelayProcess& relay, const std::string& calling_ae,
                      const std::string& transaction_uid,
                      const std::vector<std::pair<std::string, std::string>>& items) {
  CommitmentRequester requester(calling_ae, relay.ae_title(), relay.port());
  const std::string opened = requester.Open();
  if (!opened.empty()) return ActionAnswer{"association: " + opened, 0, ""};
  auto information = CommitmentRequestDataset(transaction_uid, items);
  ActionAnswer answer = requester.RequestCommitment(*information);
  requester.Release();
  return answer;
}

}  // namespace

TEST_CASE("the archive's commitment report on a new association makes the relay's items "
          "committed", "[relay][commitment]") {
  TempDir data("hokan-it-relay-commitment");
  const auto study = MakeStudy(data.path() / "s", {"--count", "2", "--patient-id", "SC-1"});
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  // The relay releases its commitment association at once: the report has
  // to come on an association the archive opens.
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}, {},
                              {"commitment_report_wait_seconds = 0"}));
  relay.UsePort(relay_port);
  relay.Start();

  const ToolResult stored = relay.StoreScu(kModalityAe, {}, PathsOf(study));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  INFO(relay.Log());
  REQUIRE(WaitUntil([&] { return relay.CountInState("purged") == 2; }, kDeadline, 100ms));
  CHECK_THAT(relay.Log(), Catch::Contains("on a new association from " + archive.ae_title()));
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_requests WHERE state = 'reported' "
                            "AND report_association = 'new' AND requester_ae = $1",
                            {kRelayAe}) >= 1);
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_requests WHERE "
                            "report_association = 'same'") == 0);
}

TEST_CASE("the relay answers a modality's Storage Commitment once the archive committed, "
          "also after a kill -9", "[relay][commitment]") {
  TempDir data("hokan-it-relay-commitment");
  const auto study = MakeStudy(data.path() / "s", {"--count", "2", "--patient-id", "SC-2"});
  ReportReceiver modality(kModalityAe);
  const std::uint16_t relay_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(relay_port));
  const std::vector<std::string> relay_lines = {
      fmt::format("commitment_ae_titles = {}", kModalityAe),
      fmt::format("modality_addresses = {}@127.0.0.1:{}", kModalityAe, modality.port())};
  // Per exam with a week of quiet: nothing is forwarded before the restart.
  RelayProcess relay(
      RelayFor(archive, {"mode = per_exam", "exam_quiet_minutes = 10080"}, relay_lines));
  relay.UsePort(relay_port);
  relay.Start();
  const ToolResult stored = relay.StoreScu(kModalityAe, {}, PathsOf(study));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  INFO(relay.Log());

  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& instance : study) items.emplace_back(kCtImageStorage, instance.sop_instance_uid);
  items.emplace_back(kCtImageStorage, kNeverSentUid);
  const std::string transaction_uid = "1.2.826.0.1.3680043.2.1125.88.1";

  SECTION("a modality outside commitment_ae_titles is refused with 0x0124") {
    const ActionAnswer refused = AskRelay(relay, kOtherModalityAe, transaction_uid, items);
    REQUIRE(refused.error.empty());
    CHECK(refused.status == 0x0124);
    CHECK_THAT(relay.Status().output,
               Catch::Contains("modality commitment requests waiting: 0"));
  }

  SECTION("a request without references is refused, nothing kept") {
    const ActionAnswer refused = AskRelay(relay, kModalityAe, transaction_uid, {});
    REQUIRE(refused.error.empty());
    CHECK(refused.status == 0x0115);
    CHECK_THAT(relay.Status().output,
               Catch::Contains("modality commitment requests waiting: 0"));
  }

  SECTION("the report comes once the archive committed, after a restart") {
    const ActionAnswer accepted = AskRelay(relay, kModalityAe, transaction_uid, items);
    REQUIRE(accepted.error.empty());
    REQUIRE(accepted.status == 0x0000);
    CHECK_THAT(relay.Status().output,
               Catch::Contains("modality commitment requests waiting: 1"));

    relay.Kill();  // the request must survive: it was answered 0x0000
    relay.options().settings["timing"] = {"mode = on_receipt", "keep_days = 0",
                                          "retry_initial_seconds = 1", "retry_max_seconds = 2"};
    relay.Start();

    REQUIRE(WaitUntil([&] { return modality.Reports().size() == 1; }, kDeadline, 100ms));
    const ReceivedReport report = modality.Reports().front();
    CHECK(report.calling_ae == kRelayAe);
    CHECK(report.transaction_uid == transaction_uid);
    CHECK(report.event_type_id == 2);
    CHECK(Sorted(report.committed) == SortedUids(study));
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].first == kNeverSentUid);
    CHECK(report.failed[0].second == 0x0112);
    // Committed by the archive before the relay reported them.
    CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 2);
    // The modality has its report; the relay records the delivery just after.
    const std::string reported_line = "storage commitment " + transaction_uid +
                                      " reported to " + kModalityAe + "@127.0.0.1:" +
                                      std::to_string(modality.port()) + ": 2 committed, 1 failed";
    CHECK(WaitUntil(
        [&] {
          return relay.Log().find(reported_line) != std::string::npos &&
                 relay.Status().output.find("modality commitment requests waiting: 0") !=
                     std::string::npos;
        },
        kDeadline, 100ms));
  }
}

}  // namespace hokan::integration

namespace hokan::integration {
namespace {

// The report's Event Information (event type 1: all committed) encoded in
// implicit VR little endian, as a forger would send it.
std::string CommittedReportBytes(const fs::path& folder, const std::string& transaction_uid,
                                 const std::vector<std::pair<std::string, std::string>>& items) {
  auto information = CommitmentRequestDataset(transaction_uid, items);
  const fs::path file = folder / "forged-report.dcm";
  REQUIRE(information->saveFile(file.c_str(), EXS_LittleEndianImplicit).good());
  return ReadFileBytes(file);
}

const PresentationContextProposal kCommitmentContext{
    1, "1.2.840.10008.1.20.1", {"1.2.840.10008.1.2"}};

}  // namespace

TEST_CASE("the relay takes commitment reports only from the archive it forwards to",
          "[relay][commitment][report_trust]") {
  TempDir data("hokan-it-relay-report-trust");
  const auto study = MakeStudy(data.path() / "s", {"--count", "1", "--patient-id", "SC-9"});
  // The archive reports on a new association to a port the relay does not
  // listen on yet: the relay's item stays 'sent' while forgers try.
  const std::uint16_t report_port = FreeTcpPort();
  ArchiveProcess archive(ArchiveFor(report_port));
  RelayProcess relay(RelayFor(archive, {"mode = on_receipt", "keep_days = 0"}, {},
                              {"commitment_report_wait_seconds = 0"}));
  relay.Start();
  const ToolResult stored = relay.StoreScu(kModalityAe, {}, PathsOf(study));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  REQUIRE(WaitUntil([&] {
    return archive.sql().Count("SELECT count(*) FROM commitment_requests WHERE requester_ae = $1",
                               {kRelayAe}) == 1;
  }, kDeadline, 100ms));
  REQUIRE(WaitUntil([&] { return relay.CountInState("sent") == 1; }, kDeadline, 100ms));
  const std::string transaction_uid = archive.sql().Value(
      "SELECT transaction_uid FROM commitment_requests WHERE requester_ae = $1", {kRelayAe});
  const std::string report = CommittedReportBytes(
      data.path(), transaction_uid, {{kCtImageStorage, study[0].sop_instance_uid}});

  // The right Transaction UID from a modality's AE title: refused, nothing changes.
  {
    RawDicomConnection forger(relay.port());
    const AssociateOutcome opened =
        forger.Associate(kModalityAe, relay.ae_title(), {kCommitmentContext});
    REQUIRE(opened.kind == AssociateOutcome::Kind::kAccepted);
    CHECK(forger.EventReport(1, 1, "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1", 1, report) ==
          0x0124);
    forger.Release();
  }
  CHECK(relay.CountInState("sent") == 1);
  CHECK_THAT(relay.Log(), Catch::Contains("only the archive may report storage commitment"));

  // The archive's AE title from another address: rejected at association.
  {
    RawDicomConnection forger(relay.port(), 30s, "127.0.0.2");
    const AssociateOutcome opened =
        forger.Associate(archive.ae_title(), relay.ae_title(), {kCommitmentContext});
    CHECK(opened.kind == AssociateOutcome::Kind::kRejected);
    CHECK(opened.reject.reason == 3);  // calling AE title not recognised
    if (opened.kind == AssociateOutcome::Kind::kAccepted) {
      CHECK(forger.EventReport(1, 1, "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1", 1,
                               report) != 0x0000);
    }
  }
  CHECK(relay.CountInState("sent") == 1);
  CHECK_THAT(relay.Log(), Catch::Contains("peer address 127.0.0.2 is not the archive's"));

  // The real archive's report, once the relay listens where it reports.
  REQUIRE(relay.Stop() == 0);
  relay.UsePort(report_port);
  relay.Start();
  REQUIRE(relay.port() == report_port);
  REQUIRE(WaitUntil([&] { return relay.CountInState("purged") == 1; }, kDeadline, 100ms));
  CHECK_THAT(relay.Log(), Catch::Contains("on a new association from " + archive.ae_title()));
}

}  // namespace hokan::integration
