// Storage Commitment Push Model against a real archive: the report on the
// requester's association, on a new association after the requester has
// gone, after a crash between N-ACTION and report, checksum, size and
// missing-file failures (and which files are hashed again), and
// malformed or unauthorised N-ACTIONs.

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/commitment_peer.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

constexpr const char* kUnknownUid = "1.2.826.0.1.3680043.2.1125.999.1";
constexpr const char* kCtImageStorage = "1.2.840.10008.5.1.4.1.1.2";

ArchiveOptions CommitmentOptions(std::uint16_t report_port) {
  ArchiveOptions options;
  options.facilities = {{"clinic", {"IT_MODALITY", "IT_NOADDRESS"}, {}, {"IT_VIEWER"}}};
  options.extra_facility_lines = {"report_destinations = IT_MODALITY@127.0.0.1:" +
                                  std::to_string(report_port)};
  options.extra_archive_settings = {"job_poll_milliseconds = 200"};
  return options;
}

// (SOP Class UID, SOP Instance UID) of what the archive holds, by instance UID.
std::vector<std::pair<std::string, std::string>> StoredItems(ArchiveProcess& archive) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& row : archive.sql().Query(
           "SELECT sop_class_uid, sop_instance_uid FROM instances ORDER BY sop_instance_uid")) {
    items.emplace_back(*row[0], *row[1]);
  }
  return items;
}

std::vector<std::pair<std::string, std::string>> StoreTwo(ArchiveProcess& archive,
                                                          const TempDir& data) {
  MakeStudy(data.path() / "study", {"--count", "2"});
  const ToolResult stored =
      archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "study").string()});
  INFO(stored.Describe() << "\narchive log:\n" << archive.Log());
  REQUIRE(stored.exit_code == 0);
  auto items = StoredItems(archive);
  REQUIRE(items.size() == 2);
  return items;
}

std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

TEST_CASE("Storage commitment reports on the requester's association: 2 committed, an "
          "unknown instance failed with 0x0112", "[commitment]") {
  TempDir data("hokan-it-commitment");
  ReportReceiver receiver("IT_MODALITY");
  ArchiveProcess archive(CommitmentOptions(receiver.port()));
  auto items = StoreTwo(archive, data);
  const std::vector<std::string> stored_uids = {items[0].second, items[1].second};

  CommitmentRequester requester("IT_MODALITY", archive.ae_title(), archive.port());
  REQUIRE(requester.Open().empty());
  auto request_items = items;
  request_items.emplace_back(kCtImageStorage, kUnknownUid);
  auto information = CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.77.1", request_items);
  const ActionAnswer answer = requester.RequestCommitment(*information);
  INFO("archive log:\n" << archive.Log());
  REQUIRE(answer.error.empty());
  CHECK(answer.status == 0x0000);

  const auto report = requester.WaitForReport(30);
  REQUIRE(report.has_value());
  requester.Release();
  CHECK(report->event_type_id == 2);
  CHECK(report->transaction_uid == "1.2.826.0.1.3680043.2.1125.77.1");
  CHECK(Sorted(report->committed) == stored_uids);
  REQUIRE(report->failed.size() == 1);
  CHECK(report->failed[0].first == kUnknownUid);
  CHECK(report->failed[0].second == 0x0112);

  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Count("SELECT count(*) FROM commitment_requests WHERE "
                                   "state = 'reported'") == 1;
      },
      10s));
  const auto rows = archive.sql().Query(
      "SELECT requester_ae, report_association, committed_count, failed_count "
      "FROM commitment_requests");
  REQUIRE(rows.size() == 1);
  CHECK(*rows[0][0] == "IT_MODALITY");
  CHECK(*rows[0][1] == "same");
  CHECK(*rows[0][2] == "2");
  CHECK(*rows[0][3] == "1");
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_items WHERE outcome = 'failed' "
                            "AND failure_reason = 274 AND sop_instance_uid = $1",
                            {kUnknownUid}) == 1);
  CHECK(archive.sql().Value("SELECT state FROM jobs WHERE kind = 'commitment-report'") ==
        "done");
  CHECK_THAT(archive.Log(),
             Catch::Contains("storage commitment from IT_MODALITY, transaction "
                             "1.2.826.0.1.3680043.2.1125.77.1: 2 committed, 1 failed; reported "
                             "on the same association"));
  CHECK(receiver.Reports().empty());

  SECTION("a stored instance requested with another SOP class fails with 0x0119") {
    CommitmentRequester again("IT_MODALITY", archive.ae_title(), archive.port());
    REQUIRE(again.Open().empty());
    auto conflict = CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.77.2",
                                             {{"1.2.840.10008.5.1.4.1.1.4", items[0].second}});
    REQUIRE(again.RequestCommitment(*conflict).status == 0x0000);
    const auto conflict_report = again.WaitForReport(30);
    REQUIRE(conflict_report.has_value());
    again.Release();
    CHECK(conflict_report->event_type_id == 2);
    CHECK(conflict_report->committed.empty());
    REQUIRE(conflict_report->failed.size() == 1);
    CHECK(conflict_report->failed[0].second == 0x0119);
  }
}

TEST_CASE("Storage commitment reports on a new association when the requester has released",
          "[commitment]") {
  TempDir data("hokan-it-commitment");
  ReportReceiver receiver("IT_MODALITY");
  ArchiveProcess archive(CommitmentOptions(receiver.port()));
  auto items = StoreTwo(archive, data);

  CommitmentRequester requester("IT_MODALITY", archive.ae_title(), archive.port());
  REQUIRE(requester.Open().empty());
  auto information = CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.78.1", items);
  const ActionAnswer answer = requester.RequestCommitment(*information);
  requester.Release();
  INFO("archive log:\n" << archive.Log());
  REQUIRE(answer.error.empty());
  REQUIRE(answer.status == 0x0000);

  REQUIRE(WaitUntil([&] { return receiver.Reports().size() == 1; }, 60s));
  const ReceivedReport report = receiver.Reports()[0];
  CHECK(report.calling_ae == archive.ae_title());
  CHECK(report.event_type_id == 1);
  CHECK(report.transaction_uid == "1.2.826.0.1.3680043.2.1125.78.1");
  CHECK(Sorted(report.committed) == std::vector<std::string>{items[0].second, items[1].second});
  CHECK(report.failed.empty());
  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Count("SELECT count(*) FROM commitment_requests WHERE "
                                   "state = 'reported' AND report_association = 'new'") == 1;
      },
      10s));
  CHECK(archive.sql().Value("SELECT report_address FROM commitment_requests") ==
        "IT_MODALITY@127.0.0.1:" + std::to_string(receiver.port()));
  CHECK_THAT(archive.Log(), Catch::Contains("2 committed, 0 failed; reported on a new "
                                            "association to IT_MODALITY@127.0.0.1"));
}

namespace {

// What the requester hears about `items` (0x0000 N-ACTION, report on its association).
ReceivedReport RequestAndWait(ArchiveProcess& archive, const std::string& transaction_uid,
                              const std::vector<std::pair<std::string, std::string>>& items) {
  CommitmentRequester requester("IT_MODALITY", archive.ae_title(), archive.port());
  REQUIRE(requester.Open().empty());
  auto information = CommitmentRequestDataset(transaction_uid, items);
  REQUIRE(requester.RequestCommitment(*information).status == 0x0000);
  const auto report = requester.WaitForReport(30);
  requester.Release();
  INFO("archive log:\n" << archive.Log());
  REQUIRE(report.has_value());
  return *report;
}

fs::path StoredFile(ArchiveProcess& archive, const std::string& sop_instance_uid) {
  return archive.storage_root() /
         archive.sql().Value("SELECT relative_path FROM instances WHERE sop_instance_uid = $1",
                             {sop_instance_uid});
}

}  // namespace

TEST_CASE("Storage commitment hashes a file stored over 10 minutes ago again and fails a "
          "corrupted one with 0x0110 (processing failure)", "[commitment]") {
  TempDir data("hokan-it-commitment");
  ReportReceiver receiver("IT_MODALITY");
  ArchiveOptions options = CommitmentOptions(receiver.port());
  options.controlled_clock = true;
  options.initial_clock = "2026-11-22T10:00:00Z";
  ArchiveProcess archive(options);
  auto items = StoreTwo(archive, data);
  // One byte changed, the size kept: only hashing the file again shows it.
  const fs::path file = StoredFile(archive, items[1].second);
  std::string bytes = ReadFileBytes(file);
  bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 0x5a);
  WriteFileBytes(file, bytes);
  archive.SetClock("2026-11-22T10:10:01Z");  // past the window that trusts ingest's checksum

  const ReceivedReport report = RequestAndWait(archive, "1.2.826.0.1.3680043.2.1125.79.1", items);
  CHECK(report.event_type_id == 2);
  CHECK(report.committed == std::vector<std::string>{items[0].second});
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].first == items[1].second);
  CHECK(report.failed[0].second == 0x0110);
  CHECK_THAT(archive.Log(), Catch::Contains("does not match its checksum"));
}

TEST_CASE("Storage commitment right after the store fails a missing or truncated file with "
          "0x0110 and commits the intact one", "[commitment]") {
  TempDir data("hokan-it-commitment");
  ReportReceiver receiver("IT_MODALITY");
  ArchiveProcess archive(CommitmentOptions(receiver.port()));
  MakeStudy(data.path() / "study", {"--count", "3"});
  const ToolResult stored =
      archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "study").string()});
  REQUIRE(stored.exit_code == 0);
  const auto items = StoredItems(archive);
  REQUIRE(items.size() == 3);
  fs::remove(StoredFile(archive, items[1].second));
  const fs::path truncated = StoredFile(archive, items[2].second);
  fs::resize_file(truncated, fs::file_size(truncated) - 2);

  const ReceivedReport report = RequestAndWait(archive, "1.2.826.0.1.3680043.2.1125.79.2", items);
  CHECK(report.event_type_id == 2);
  CHECK(report.committed == std::vector<std::string>{items[0].second});
  REQUIRE(report.failed.size() == 2);
  for (const auto& [uid, reason] : report.failed) {
    CHECK((uid == items[1].second || uid == items[2].second));
    CHECK(reason == 0x0110);
  }
  CHECK_THAT(archive.Log(), Catch::Contains("cannot be read") && Catch::Contains("bytes, "));
}

TEST_CASE("A storage commitment report owed when the archive is killed is sent after the "
          "restart", "[commitment]") {
  TempDir data("hokan-it-commitment");
  const std::uint16_t report_port = FreeTcpPort();  // nobody listens there yet
  ArchiveOptions options = CommitmentOptions(report_port);
  // The test's base: the provisional contract starts on its day.
  options.controlled_clock = true;
  options.initial_clock = "2026-11-22T10:00:00Z";
  ArchiveProcess archive(options);
  auto items = StoreTwo(archive, data);

  {
    CommitmentRequester requester("IT_MODALITY", archive.ae_title(), archive.port());
    REQUIRE(requester.Open().empty());
    auto information = CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.80.1", items);
    const ActionAnswer answer = requester.RequestCommitment(*information);
    REQUIRE(answer.error.empty());
    REQUIRE(answer.status == 0x0000);
    archive.Kill();  // before the requester has answered any report
  }
  CHECK(archive.sql().Value("SELECT state FROM commitment_requests") == "pending");
  CHECK(archive.sql().Value("SELECT state FROM jobs WHERE kind = 'commitment-report'") ==
        "pending");

  ReportReceiver receiver("IT_MODALITY", report_port);
  archive.Start();
  // Past the same-association window and any retry delay.
  archive.SetClock("2026-11-22T10:10:00Z");
  INFO("archive log:\n" << archive.Log());
  REQUIRE(WaitUntil([&] { return receiver.Reports().size() == 1; }, 60s));
  const ReceivedReport report = receiver.Reports()[0];
  CHECK(report.transaction_uid == "1.2.826.0.1.3680043.2.1125.80.1");
  CHECK(report.event_type_id == 1);
  CHECK(report.committed.size() == 2);
  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Value("SELECT state FROM commitment_requests") == "reported";
      },
      10s));
  CHECK(archive.sql().Value("SELECT report_association FROM commitment_requests") == "new");
}

TEST_CASE("Malformed or unauthorised storage commitment requests are refused and store "
          "nothing", "[commitment]") {
  TempDir data("hokan-it-commitment");
  ReportReceiver receiver("IT_MODALITY");
  ArchiveProcess archive(CommitmentOptions(receiver.port()));
  auto items = StoreTwo(archive, data);

  struct Case {
    const char* name;
    std::string calling_ae;
    std::unique_ptr<DcmDataset> information;
    std::uint16_t action_type_id;
    std::uint16_t status;
    const char* comment;
  };
  std::vector<Case> cases;
  cases.push_back({"empty sequence", "IT_MODALITY",
                   CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.81.1", {}), 1, 0x0115,
                   "Referenced SOP Sequence (0008,1199) is empty"});
  cases.push_back({"no Transaction UID", "IT_MODALITY", CommitmentRequestDataset("", items), 1,
                   0x0115, "Transaction UID (0008,1195) is missing"});
  cases.push_back({"malformed instance UID", "IT_MODALITY",
                   CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.81.3",
                                            {{kCtImageStorage, "1.2.abc"}}),
                   1, 0x0115, "item 1: SOP Instance UID '1.2.abc' is not valid"});
  cases.push_back({"item without class UID", "IT_MODALITY",
                   CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.81.4",
                                            {{"", items[0].second}}),
                   1, 0x0115, "item 1: Referenced SOP Class UID is missing"});
  cases.push_back({"action type 2", "IT_MODALITY",
                   CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.81.5", items), 2,
                   0x0123, "Action Type ID 2 is not 1"});
  cases.push_back({"AE without address", "IT_NOADDRESS",
                   CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.81.6", items), 1,
                   0x0110, "no address known for AE IT_NOADDRESS"});
  cases.push_back({"query-only AE", "IT_VIEWER",
                   CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.81.7", items), 1,
                   0x0124, "may query and retrieve, not store"});
  for (auto& refused : cases) {
    INFO(refused.name);
    CommitmentRequester requester(refused.calling_ae, archive.ae_title(), archive.port());
    REQUIRE(requester.Open().empty());
    const ActionAnswer answer =
        requester.RequestCommitment(*refused.information, refused.action_type_id);
    requester.Release();
    REQUIRE(answer.error.empty());
    CHECK(answer.status == refused.status);
    CHECK_THAT(answer.error_comment, Catch::Contains(refused.comment));
  }
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_requests") == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_items") == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM jobs WHERE kind = 'commitment-report'") == 0);
  CHECK_THAT(archive.Log(), Catch::Contains("storage commitment N-ACTION from IT_MODALITY "
                                            "refused with 0x0115"));
  CHECK(receiver.Reports().empty());
}

}  // namespace hokan::integration
