// Background work against a real archive (issue 14): a Storage Commitment
// report destination that never answers holds up neither expiry nor the
// day's usage sample (each job kind has its own lane); a destination whose
// TCP handshake never completes fails after the connect timeout; and a
// usage sample that runs after its day is over records that day's closing
// usage. Every time derives from a fixed base on the archive's controlled
// clock.

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/commitment_peer.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

constexpr const char* kClockBase = "2031-05-01T10:00:00Z";

// A TCP listener on 127.0.0.1 that never answers: connections complete (up
// to the backlog) and are held open, but nothing is ever read or written.
class SilentListener {
 public:
  explicit SilentListener(int backlog) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, backlog) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot open a listening socket");
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { Close(); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  std::uint16_t port() const { return port_; }

  // Connects once itself, filling a backlog of 0: later SYNs are dropped,
  // so a peer's TCP connect never completes (a black-holed address).
  void FillBacklog() {
    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot connect to the listening socket");
    }
    held_.push_back(client);
  }

  // Accepts what has arrived (never answering); returns how many so far.
  int Arrived() {
    for (;;) {
      const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK);
      if (connection < 0) break;
      held_.push_back(connection);
      ++arrived_;
    }
    return arrived_;
  }

  // Closes everything: a peer waiting for an answer sees the connection end.
  void Close() {
    for (const int fd : held_) ::close(fd);
    held_.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  std::uint16_t port_ = 0;
  std::vector<int> held_;
  int arrived_ = 0;
};

// One facility whose commitment reports go to 127.0.0.1:`report_port`;
// jobs polled every 100 ms, expiry scheduled per minute of the clock.
ArchiveOptions LaneOptions(std::uint16_t report_port) {
  ArchiveOptions options;
  options.controlled_clock = true;
  options.initial_clock = kClockBase;
  options.facilities = {{"clinic", {"IT_MODALITY"}, {}, {"IT_VIEWER"}}};
  options.extra_facility_lines = {"report_destinations = IT_MODALITY@127.0.0.1:" +
                                  std::to_string(report_port)};
  options.extra_archive_settings = {"job_poll_milliseconds = 100",
                                    "expiry_interval_seconds = 60",
                                    // A silent peer would hold a report for 5 minutes.
                                    "acse_timeout_seconds = 300", "connect_timeout_seconds = 2"};
  return options;
}

// Stores a new study of `count` instances; returns its Study Instance UID.
std::string StoreStudy(ArchiveProcess& archive, const fs::path& folder, int count) {
  MakeStudy(folder, {"--count", std::to_string(count)});
  const ToolResult stored = archive.StoreScu("IT_MODALITY", {"+sd"}, {folder.string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  return archive.sql().Value(
      "SELECT s.study_instance_uid FROM studies s JOIN series e ON e.study_fk = s.id "
      "JOIN instances i ON i.series_fk = e.id ORDER BY i.id DESC LIMIT 1");
}

// Asks for commitment of the instances of `study_uid` and releases at once:
// the report is owed on a new association (a commitment-report job).
void RequestCommitment(ArchiveProcess& archive, const std::string& study_uid) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& row : archive.sql().Query(
           "SELECT i.sop_class_uid, i.sop_instance_uid FROM instances i "
           "JOIN series e ON e.id = i.series_fk JOIN studies s ON s.id = e.study_fk "
           "WHERE s.study_instance_uid = $1",
           {study_uid})) {
    items.emplace_back(*row[0], *row[1]);
  }
  CommitmentRequester requester("IT_MODALITY", archive.ae_title(), archive.port());
  REQUIRE(requester.Open().empty());
  auto information = CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.14.5", items);
  const ActionAnswer answer = requester.RequestCommitment(*information);
  requester.Release();
  REQUIRE(answer.error.empty());
  REQUIRE(answer.status == 0x0000);
}

std::int64_t SamplesOf(ArchiveProcess& archive, const std::string& day) {
  return archive.sql().Count("SELECT count(*) FROM usage_samples WHERE sample_day = $1::date",
                             {day});
}

}  // namespace

TEST_CASE("a report destination that never answers delays neither expiry nor the usage "
          "sample", "[jobs]") {
  TempDir data("hokan-it-lanes");
  SilentListener listener(16);
  ArchiveProcess archive(LaneOptions(listener.port()));
  const std::string committed = StoreStudy(archive, data.path() / "committed", 2);
  const std::string expiring = StoreStudy(archive, data.path() / "expiring", 1);
  RequestCommitment(archive, committed);
  // The report job has connected and waits for an A-ASSOCIATE-AC that never comes.
  INFO("archive log:\n" << archive.Log());
  REQUIRE(WaitUntil([&] { return listener.Arrived() >= 1; }, 60s));

  archive.sql().Execute(
      "UPDATE studies SET expires_at = $2::timestamptz + interval '1 day' "
      "WHERE study_instance_uid = $1",
      {expiring, kClockBase});
  archive.SetClock("2031-05-03T10:00:00Z");
  const auto started = std::chrono::steady_clock::now();
  CHECK(WaitUntil(
      [&] {
        return archive.sql().Count("SELECT count(*) FROM studies WHERE study_instance_uid = $1",
                                   {expiring}) == 0;
      },
      30s));
  CHECK(WaitUntil([&] { return SamplesOf(archive, "2031-05-03") == 1; }, 30s));
  CHECK(std::chrono::steady_clock::now() - started < 30s);
  // All the while the report was still owed.
  CHECK(archive.sql().Value("SELECT state FROM jobs WHERE kind = 'commitment-report'") ==
        "pending");
  CHECK(listener.Arrived() == 1);
  listener.Close();  // the report attempt ends; the archive can stop at once
}

TEST_CASE("a report destination whose TCP handshake never completes fails after the connect "
          "timeout", "[jobs]") {
  TempDir data("hokan-it-connect-timeout");
  SilentListener listener(0);
  listener.FillBacklog();
  ArchiveProcess archive(LaneOptions(listener.port()));
  RequestCommitment(archive, StoreStudy(archive, data.path() / "study", 1));
  const auto requested = std::chrono::steady_clock::now();
  // Without a connect timeout the kernel gives up after about two minutes.
  INFO("archive log:\n" << archive.Log());
  REQUIRE(WaitUntil(
      [&] {
        return archive.sql().Count("SELECT count(*) FROM jobs WHERE kind = 'commitment-report' "
                                   "AND attempts >= 1 AND last_error <> ''") == 1;
      },
      30s));
  CHECK(std::chrono::steady_clock::now() - requested < 30s);
  CHECK(archive.sql().Value("SELECT state FROM jobs WHERE kind = 'commitment-report'") ==
        "pending");  // retried later
  listener.Close();
}

TEST_CASE("a usage sample taken after its day records that day's closing usage", "[jobs]") {
  TempDir data("hokan-it-usage-day");
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.controlled_clock = true;
  options.initial_clock = kClockBase;
  options.extra_archive_settings = {"job_poll_milliseconds = 100"};
  ArchiveProcess archive(options);
  REQUIRE(WaitUntil([&] { return SamplesOf(archive, "2031-05-01") == 1; }, 30s));
  StoreStudy(archive, data.path() / "first-day", 2);
  const std::int64_t first_day_end = archive.sql().Count("SELECT used_bytes FROM facility_usage");
  REQUIRE(first_day_end > 0);

  // The next day: one study whose usage is folded by day, one not yet folded.
  archive.SetClock("2031-05-02T00:00:30Z");
  REQUIRE(WaitUntil([&] { return SamplesOf(archive, "2031-05-02") == 1; }, 30s));
  StoreStudy(archive, data.path() / "folded", 1);
  archive.sql().Value("SELECT hokan_fold_usage_deltas()::text");
  StoreStudy(archive, data.path() / "unfolded", 1);
  REQUIRE(archive.sql().Count("SELECT used_bytes FROM facility_usage") > first_day_end);

  // May 1's sample was never taken (its job ran late, say): it runs now, on May 2.
  archive.sql().Execute("DELETE FROM usage_samples WHERE sample_day = '2031-05-01'");
  archive.sql().Execute(
      "UPDATE jobs SET state = 'pending', finished_at = NULL, run_after = $1::timestamptz "
      "WHERE dedupe_key = 'usage-sample:2031-05-01'",
      {kClockBase});
  INFO("archive log:\n" << archive.Log());
  REQUIRE(WaitUntil([&] { return SamplesOf(archive, "2031-05-01") == 1; }, 30s));
  CHECK(archive.sql().Count("SELECT used_bytes FROM usage_samples "
                            "WHERE sample_day = '2031-05-01'") == first_day_end);
  CHECK(archive.sql().Value("SELECT state FROM jobs WHERE dedupe_key = "
                            "'usage-sample:2031-05-01'") == "done");
}

TEST_CASE("days the archive did not run at all are sampled after its next start", "[jobs]") {
  TempDir data("hokan-it-usage-gap");
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.controlled_clock = true;
  options.initial_clock = kClockBase;
  options.extra_archive_settings = {"job_poll_milliseconds = 100"};
  ArchiveProcess archive(options);
  REQUIRE(WaitUntil([&] { return SamplesOf(archive, "2031-05-01") == 1; }, 30s));
  StoreStudy(archive, data.path() / "first-day", 2);
  const std::int64_t first_day_end = archive.sql().Count("SELECT used_bytes FROM facility_usage");
  REQUIRE(first_day_end > 0);

  // Down from May 1 to May 4: May 2 and 3 had no running archive.
  REQUIRE(archive.Stop() == 0);
  archive.SetClock("2031-05-04T08:00:00Z");
  archive.Start();
  INFO("archive log:\n" << archive.Log());
  REQUIRE(WaitUntil(
      [&] {
        return SamplesOf(archive, "2031-05-02") == 1 && SamplesOf(archive, "2031-05-03") == 1 &&
               SamplesOf(archive, "2031-05-04") == 1;
      },
      30s));
  CHECK(archive.sql().Count("SELECT count(DISTINCT used_bytes) FROM usage_samples "
                            "WHERE sample_day BETWEEN '2031-05-02' AND '2031-05-04'") == 1);
  CHECK(archive.sql().Count("SELECT used_bytes FROM usage_samples "
                            "WHERE sample_day = '2031-05-03'") == first_day_end);
  CHECK_THAT(archive.Log(), Catch::Contains("usage samples of 2 day(s) not sampled "
                                            "(2031-05-02 to 2031-05-03) scheduled"));
}

}  // namespace hokan::integration
