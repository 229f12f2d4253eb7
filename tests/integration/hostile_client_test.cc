// Issue 14, "no client delays another": a client that sends the first bytes
// of an A-ASSOCIATE-RQ and then nothing, or drips it a byte at a time, must
// not hold up other clients of hokan-archive or hokan-forward; it is dropped
// when the whole-request deadline passes; and one address may keep only
// max_half_open_per_address such connections open.
//
// The hostile connections come from 127.0.0.2 (or .3), so the per-address
// limit never touches the well-behaved clients (DCMTK's tools, 127.0.0.1).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/relay_process.h"
#include "tests/integration/test_support.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Be16(unsigned value) {
  return {static_cast<char>(value >> 8 & 0xff), static_cast<char>(value & 0xff)};
}

std::string Be32(std::uint32_t value) { return Be16(value >> 16) + Be16(value & 0xffff); }

std::string Item(unsigned char type, const std::string& value) {
  return std::string(1, static_cast<char>(type)) + '\0' +
         Be16(static_cast<unsigned>(value.size())) + value;
}

// A complete A-ASSOCIATE-RQ proposing Verification (PS3.8 9.3.2).
std::string AssociateRequest(const std::string& calling_ae, const std::string& called_ae) {
  auto ae = [](std::string title) { return title.append(16 - title.size(), ' '); };
  std::string context = std::string("\x01\0\0\0", 4) + Item(0x30, "1.2.840.10008.1.1") +
                        Item(0x40, "1.2.840.10008.1.2");
  std::string body = Be16(1) + Be16(0) + ae(called_ae) + ae(calling_ae) + std::string(32, '\0') +
                     Item(0x10, "1.2.840.10008.3.1.1.1") + Item(0x20, context) +
                     Item(0x50, Item(0x51, Be32(16384)) + Item(0x52, "2.25.14"));
  return std::string("\x01\0", 2) + Be32(static_cast<std::uint32_t>(body.size())) + body;
}

// A raw TCP connection to 127.0.0.1:port from `source` (e.g. 127.0.0.2),
// for clients DCMTK's tools will not imitate.
class HostileConnection {
 public:
  HostileConnection(const std::string& source, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    remote.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
      const std::string error = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error("connect from " + source + ": " + error);
    }
    connected_at_ = Clock::now();
  }
  ~HostileConnection() { ::close(fd_); }
  HostileConnection(const HostileConnection&) = delete;
  HostileConnection& operator=(const HostileConnection&) = delete;

  Clock::time_point connected_at() const { return connected_at_; }

  // False when the peer has closed the connection (the send fails).
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // Waits up to `timeout` for the peer to close the connection (end of
  // stream or reset); true if it did. Bytes the peer sends are returned by
  // Received().
  bool ClosedByPeer(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd watched{fd_, POLLIN, 0};
      const int ready = ::poll(&watched, 1, static_cast<int>(std::max<long long>(0, left.count())));
      if (ready > 0) {
        char buffer[4096];
        const ssize_t read = ::recv(fd_, buffer, sizeof buffer, 0);
        if (read <= 0) return true;
        received_.append(buffer, static_cast<std::size_t>(read));
        continue;
      }
      if (left.count() <= 0) return false;
    }
  }

  const std::string& Received() const { return received_; }

 private:
  int fd_ = -1;
  Clock::time_point connected_at_;
  std::string received_;
};

// The first bytes of an A-ASSOCIATE-RQ, and then nothing.
std::unique_ptr<HostileConnection> StalledClient(const std::string& source, std::uint16_t port) {
  auto connection = std::make_unique<HostileConnection>(source, port);
  REQUIRE(connection->Send(AssociateRequest("STALLED", "ANY").substr(0, 12)));
  return connection;
}

// Sends an A-ASSOCIATE-RQ one byte every 300 ms until the peer closes;
// returns the seconds from connecting to the close (none if it never came
// within `give_up`).
std::optional<double> DripUntilClosed(std::uint16_t port, std::chrono::seconds give_up) {
  HostileConnection connection("127.0.0.2", port);
  const std::string request = AssociateRequest("DRIPPER", "ANY");
  for (std::size_t sent = 0; SecondsSince(connection.connected_at()) < give_up.count(); ++sent) {
    if (sent < request.size() && !connection.Send(request.substr(sent, 1))) break;
    if (connection.ClosedByPeer(300ms)) break;
  }
  if (SecondsSince(connection.connected_at()) >= give_up.count()) return std::nullopt;
  return SecondsSince(connection.connected_at());
}

// Runs every client at once; returns each one's seconds from the common
// start to its end, in order. A client returns its failure ("" = fine).
struct ClientRun {
  std::vector<std::string> failures;
  std::vector<double> seconds;
};
ClientRun RunAtOnce(const std::vector<std::function<std::string()>>& clients) {
  const auto start = Clock::now();
  std::vector<std::future<std::pair<std::string, double>>> running;
  for (const auto& client : clients) {
    running.push_back(std::async(std::launch::async, [&client, start] {
      std::string failure = client();
      return std::make_pair(failure, SecondsSince(start));
    }));
  }
  ClientRun run;
  for (auto& one : running) {
    auto [failure, seconds] = one.get();
    if (!failure.empty()) run.failures.push_back(failure);
    run.seconds.push_back(seconds);
  }
  return run;
}

std::string FailureOf(const ToolResult& result) {
  return result.exit_code == 0 ? std::string() : result.Describe();
}

std::string Join(const std::vector<std::string>& failures) {
  std::string joined;
  for (const std::string& failure : failures) joined += failure + "\n";
  return joined;
}

double Slowest(const std::vector<double>& seconds) {
  return *std::max_element(seconds.begin(), seconds.end());
}

}  // namespace

TEST_CASE("a stalled and a byte-dripping client delay none of 20 clients of hokan-archive",
          "[hostile]") {
  constexpr int kDeadlineSeconds = 20;
  TempDir data("hokan-it-hostile");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "20"});
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.max_associations = 32;
  options.extra_archive_settings = {
      "association_request_deadline_seconds = " + std::to_string(kDeadlineSeconds)};
  ArchiveProcess archive(options);

  auto stalled = StalledClient("127.0.0.2", archive.port());
  auto dripper = std::async(std::launch::async, DripUntilClosed, archive.port(),
                            std::chrono::seconds(kDeadlineSeconds + 20));

  std::vector<std::function<std::string()>> clients;
  for (const auto& instance : instances) {
    clients.push_back([&archive, &instance] {
      std::string failure = FailureOf(archive.Echo("IT_MODALITY"));
      if (failure.empty()) {
        failure = FailureOf(archive.StoreScu("IT_MODALITY", {}, {instance.path.string()}));
      }
      return failure;
    });
  }
  const ClientRun run = RunAtOnce(clients);
  INFO("archive log:\n" << archive.Log());
  INFO(Join(run.failures));
  REQUIRE(run.failures.empty());
  // Each echoed and stored while both hostile connections were open.
  WARN("20 clients echoed and stored in " << Slowest(run.seconds) << " s (slowest)");
  CHECK(Slowest(run.seconds) < kDeadlineSeconds / 2.0);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 20);

  // The stalled client is dropped at the deadline: not before, and soon after.
  REQUIRE(stalled->ClosedByPeer(std::chrono::seconds(kDeadlineSeconds + 15)));
  const double stalled_for = SecondsSince(stalled->connected_at());
  CHECK(stalled_for >= kDeadlineSeconds - 0.5);
  CHECK(stalled_for < kDeadlineSeconds + 5);
  // So is the dripper, although a byte came every 300 ms.
  const std::optional<double> dripped_for = dripper.get();
  REQUIRE(dripped_for);
  CHECK(*dripped_for >= kDeadlineSeconds - 0.5);
  CHECK(*dripped_for < kDeadlineSeconds + 5);
  CHECK(WaitUntil(
      [&] {
        const std::string log = archive.Log();
        return log.find("connection from 127.0.0.2 dropped: its A-ASSOCIATE-RQ did not arrive "
                        "whole within 20 s (12 bytes received)") != std::string::npos;
      },
      5s));
}

TEST_CASE("one address may hold only max_half_open_per_address incomplete requests",
          "[hostile]") {
  constexpr int kDeadlineSeconds = 8;
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.extra_archive_settings = {
      "association_request_deadline_seconds = " + std::to_string(kDeadlineSeconds),
      "max_half_open_per_address = 2"};
  ArchiveProcess archive(options);

  auto first = StalledClient("127.0.0.2", archive.port());
  auto second = StalledClient("127.0.0.2", archive.port());
  // The third from the same address is closed as soon as it is accepted.
  HostileConnection third("127.0.0.2", archive.port());
  CHECK(third.ClosedByPeer(3s));
  CHECK(SecondsSince(third.connected_at()) < 3);
  CHECK(third.Received().empty());
  // The first two are still being waited for; another address is not limited.
  CHECK_FALSE(first->ClosedByPeer(0ms));
  CHECK_FALSE(second->ClosedByPeer(0ms));
  auto elsewhere = StalledClient("127.0.0.3", archive.port());
  CHECK_FALSE(elsewhere->ClosedByPeer(1s));
  const ToolResult echo = archive.Echo("IT_MODALITY");
  INFO(echo.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(echo.exit_code == 0);
  CHECK(archive.Log().find("connection from 127.0.0.2 closed at once: it already has 2 "
                           "connections whose association request is incomplete") !=
        std::string::npos);

  // Once the deadline has dropped them, the address may connect again, and
  // a whole request from it is answered (A-ASSOCIATE-AC: type 0x02).
  REQUIRE(first->ClosedByPeer(std::chrono::seconds(kDeadlineSeconds + 10)));
  REQUIRE(second->ClosedByPeer(5s));
  HostileConnection again("127.0.0.2", archive.port());
  REQUIRE(again.Send(AssociateRequest("IT_MODALITY", archive.ae_title())));
  CHECK(WaitUntil([&] { return again.ClosedByPeer(0ms) || !again.Received().empty(); }, 10s));
  REQUIRE_FALSE(again.Received().empty());
  CHECK(again.Received()[0] == '\x02');
}

TEST_CASE("all addresses together may hold only max_half_open_connections incomplete requests",
          "[hostile][half_open_cap]") {
  constexpr int kDeadlineSeconds = 8;
  constexpr int kCap = 6;
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  // The per-address limit stays at its default (16): two connections from
  // each address never reach it, so only the overall cap can refuse.
  options.extra_archive_settings = {
      "association_request_deadline_seconds = " + std::to_string(kDeadlineSeconds),
      "max_half_open_connections = " + std::to_string(kCap)};
  ArchiveProcess archive(options);

  std::vector<std::unique_ptr<HostileConnection>> stalled;
  for (const char* source : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    stalled.push_back(StalledClient(source, archive.port()));
    stalled.push_back(StalledClient(source, archive.port()));
  }
  REQUIRE(stalled.size() == kCap);
  // The cap is reached: a connection from a fresh address is closed as soon
  // as it is accepted, and so is a well-behaved client's.
  HostileConnection beyond("127.0.0.5", archive.port());
  CHECK(beyond.ClosedByPeer(3s));
  CHECK(SecondsSince(beyond.connected_at()) < 3);
  CHECK(beyond.Received().empty());
  for (auto& connection : stalled) CHECK_FALSE(connection->ClosedByPeer(0ms));
  CHECK(archive.Echo("IT_MODALITY").exit_code != 0);
  CHECK(WaitUntil(
      [&] {
        return archive.Log().find("connection from 127.0.0.5 closed at once: 6 connections are "
                                  "already sending their association request") !=
               std::string::npos;
      },
      5s));

  // The deadline drops the stalled ones; then a well-behaved client is served.
  for (auto& connection : stalled) {
    REQUIRE(connection->ClosedByPeer(std::chrono::seconds(kDeadlineSeconds + 10)));
  }
  const ToolResult echo = archive.Echo("IT_MODALITY");
  INFO(echo.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(echo.exit_code == 0);
  HostileConnection again("127.0.0.5", archive.port());
  REQUIRE(again.Send(AssociateRequest("IT_MODALITY", archive.ae_title())));
  CHECK(WaitUntil([&] { return again.ClosedByPeer(0ms) || !again.Received().empty(); }, 10s));
  REQUIRE_FALSE(again.Received().empty());
  CHECK(again.Received()[0] == '\x02');
}

TEST_CASE("a stalled and a byte-dripping client delay no client of hokan-forward",
          "[hostile][relay]") {
  constexpr int kDeadlineSeconds = 20;
  TempDir data("hokan-it-hostile-relay");
  const auto instances = MakeStudy(data.path() / "study", {"--count", "6"});
  RelayOptions options;
  options.settings["relay"] = {"association_request_deadline_seconds = " +
                               std::to_string(kDeadlineSeconds)};
  RelayProcess relay(options);
  relay.Start();

  auto stalled = StalledClient("127.0.0.2", relay.port());
  auto dripper = std::async(std::launch::async, DripUntilClosed, relay.port(),
                            std::chrono::seconds(kDeadlineSeconds + 20));

  // Six at once: the relay serves eight associations at a time.
  std::vector<std::function<std::string()>> clients;
  for (const auto& instance : instances) {
    clients.push_back([&relay, &instance] {
      std::string failure =
          FailureOf(RunTool({"echoscu", "-to", "5", "-ta", "10", "-aet", "MODALITY", "-aec",
                             relay.ae_title(), "localhost", std::to_string(relay.port())}));
      if (failure.empty()) {
        failure = FailureOf(relay.StoreScu("MODALITY", {"-ta", "10"}, {instance.path.string()}));
      }
      return failure;
    });
  }
  const ClientRun run = RunAtOnce(clients);
  INFO("relay log:\n" << relay.Log());
  INFO(Join(run.failures));
  REQUIRE(run.failures.empty());
  WARN("6 relay clients echoed and stored in " << Slowest(run.seconds) << " s (slowest)");
  CHECK(Slowest(run.seconds) < kDeadlineSeconds / 2.0);

  REQUIRE(stalled->ClosedByPeer(std::chrono::seconds(kDeadlineSeconds + 15)));
  const double stalled_for = SecondsSince(stalled->connected_at());
  CHECK(stalled_for >= kDeadlineSeconds - 0.5);
  CHECK(stalled_for < kDeadlineSeconds + 5);
  const std::optional<double> dripped_for = dripper.get();
  REQUIRE(dripped_for);
  CHECK(*dripped_for < kDeadlineSeconds + 5);
  CHECK(WaitUntil(
      [&] {
        return relay.Log().find("connection from 127.0.0.2 dropped: its A-ASSOCIATE-RQ did not "
                                "arrive whole within 20 s") != std::string::npos;
      },
      5s));
}

}  // namespace hokan::integration
