// Issue 14, DICOM TLS: hokan-archive accepts associations over TLS (PS3.15,
// BCP 195 profile) on [archive] tls_port beside the plain port, verifies
// client certificates against tls_trusted_certificates, and does the TLS
// handshake off the accepting thread under the whole-request deadline.
// Clients are DCMTK's tools with +tls; the certificates (a CA, the
// archive's, a client's and a stranger's from another CA) are made by the
// test with the openssl command.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/relay_process.h"
#include "tests/integration/test_support.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {
namespace {

using Clock = std::chrono::steady_clock;

void RunOpenssl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  const ToolResult result = RunTool(argv, {}, 60s);
  INFO(result.Describe());
  REQUIRE(result.exit_code == 0);
}

// A key pair and certificate in PEM files.
struct Identity {
  std::string key;
  std::string certificate;
};

// Certificates for one test, made with openssl in a temporary folder:
// RSA 2048 / SHA-256 (what BCP 195 asks for), valid for 100 years from the
// (possibly faked) clock.
class TestCertificates {
 public:
  TestCertificates() {
    ca = MakeAuthority("ca", "hokan test CA");
    archive = MakeSigned("archive", "localhost", ca);
    client = MakeSigned("client", "IT_MODALITY", ca);
    const Identity other_ca = MakeAuthority("other-ca", "another CA");
    stranger = MakeSigned("stranger", "STRANGER", other_ca);
    facility_ca = MakeAuthority("facility-ca", "secure facility CA");
    facility_client = MakeSigned("facility-client", "SECURE_CT", facility_ca);
  }

  Identity ca, archive, client, stranger;
  // A facility's own CA and a client certificate it issued.
  Identity facility_ca, facility_client;

 private:
  std::string PathOf(const std::string& name) const { return (dir_.path() / name).string(); }

  Identity MakeAuthority(const std::string& name, const std::string& common_name) {
    Identity identity{PathOf(name + ".key"), PathOf(name + ".crt")};
    RunOpenssl({"req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", "36500",
                "-subj", "/CN=" + common_name, "-keyout", identity.key, "-out",
                identity.certificate});
    return identity;
  }

  Identity MakeSigned(const std::string& name, const std::string& common_name,
                      const Identity& authority) {
    Identity identity{PathOf(name + ".key"), PathOf(name + ".crt")};
    const std::string request = PathOf(name + ".csr");
    RunOpenssl({"req", "-newkey", "rsa:2048", "-sha256", "-nodes", "-subj", "/CN=" + common_name,
                "-keyout", identity.key, "-out", request});
    RunOpenssl({"x509", "-req", "-in", request, "-CA", authority.certificate, "-CAkey",
                authority.key, "-CAcreateserial", "-sha256", "-days", "36500", "-out",
                identity.certificate});
    return identity;
  }

  TempDir dir_{"hokan-tls"};
};

// The archive with a TLS port beside its plain one; clients must present a
// certificate issued by the test CA.
ArchiveOptions TlsArchiveOptions(const TestCertificates& certificates, std::uint16_t tls_port) {
  ArchiveOptions options = SingleFacilityOptions();
  options.extra_archive_settings = {
      "tls_port = " + std::to_string(tls_port),
      "tls_certificate = " + certificates.archive.certificate,
      "tls_private_key = " + certificates.archive.key,
      "tls_trusted_certificates = " + certificates.ca.certificate,
      "association_request_deadline_seconds = 3"};
  return options;
}

// +tls <key> <certificate> +cf <CA>: DCMTK's TLS options for a client with
// `identity`, trusting the test CA for the archive's certificate. The BCP
// 195 profile is the tools' default.
std::vector<std::string> TlsOptions(const TestCertificates& certificates,
                                    const Identity& identity) {
  return {"+tls", identity.key, identity.certificate, "+cf", certificates.ca.certificate};
}

ToolResult TlsEcho(const ArchiveProcess& archive, std::uint16_t tls_port,
                   const std::vector<std::string>& tls_options,
                   const std::string& calling_ae = "") {
  std::vector<std::string> argv{"echoscu", "-v", "-to", "5", "-ta", "10", "-td", "10"};
  argv.insert(argv.end(), tls_options.begin(), tls_options.end());
  for (const std::string& argument :
       {std::string("-aet"), calling_ae.empty() ? archive.probe_ae() : calling_ae,
        std::string("-aec"), archive.ae_title(), std::string("localhost"),
        std::to_string(tls_port)}) {
    argv.push_back(argument);
  }
  return RunTool(argv, {}, 30s);
}

// A raw TCP connection to 127.0.0.1:port that sends `bytes` and then
// nothing: a client that starts a TLS handshake and stalls.
class StalledConnection {
 public:
  StalledConnection(std::uint16_t port, const std::string& bytes) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    remote.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 ||
        ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(bytes.size())) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to the TLS port and send");
    }
  }
  ~StalledConnection() { ::close(fd_); }
  StalledConnection(const StalledConnection&) = delete;
  StalledConnection& operator=(const StalledConnection&) = delete;

  // Waits up to `timeout` for the peer to close the connection.
  bool ClosedByPeer(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd watched{fd_, POLLIN, 0};
      if (::poll(&watched, 1, 100) <= 0) continue;
      char buffer[4096];
      if (::recv(fd_, buffer, sizeof buffer, 0) <= 0) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
};

}  // namespace

TEST_CASE("DICOM TLS port: echo, store and find over TLS with a trusted client certificate",
          "[tls]") {
  const TestCertificates certificates;
  const std::uint16_t tls_port = FreeTcpPort();
  ArchiveProcess archive(TlsArchiveOptions(certificates, tls_port));
  const auto client = TlsOptions(certificates, certificates.client);

  const ToolResult echo = TlsEcho(archive, tls_port, client);
  INFO(echo.Describe());
  CHECK(echo.exit_code == 0);

  TempDir data;
  const auto study = MakeStudy(data.path() / "study", {"--count", "3"});
  std::vector<std::string> store{"storescu", "-v", "-to", "5", "-ta", "10", "-td", "30"};
  store.insert(store.end(), client.begin(), client.end());
  for (const std::string& argument : {std::string("-aet"), archive.probe_ae(),
                                      std::string("-aec"), archive.ae_title(),
                                      std::string("localhost"), std::to_string(tls_port)}) {
    store.push_back(argument);
  }
  for (const std::string& path : PathsOf(study)) store.push_back(path);
  const ToolResult stored = RunTool(store, {}, 60s);
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  CHECK(CountStoreSuccesses(stored.output) == 3);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 3);

  std::vector<std::string> find{"findscu", "-v", "-S", "-to", "5", "-ta", "10", "-td", "30"};
  find.insert(find.end(), client.begin(), client.end());
  for (const std::string& argument :
       {std::string("-aet"), archive.probe_ae(), std::string("-aec"), archive.ae_title(),
        std::string("-k"), std::string("QueryRetrieveLevel=STUDY"), std::string("-k"),
        std::string("StudyInstanceUID"), std::string("localhost"), std::to_string(tls_port)}) {
    find.push_back(argument);
  }
  const ToolResult found = RunTool(find, {}, 60s);
  INFO(found.Describe());
  CHECK(found.exit_code == 0);
  CHECK(CountOccurrences(found.output, "(Pending)") == 1);

  // The plain port is unchanged beside the TLS one.
  const ToolResult plain = archive.Echo(archive.probe_ae());
  INFO(plain.Describe());
  CHECK(plain.exit_code == 0);
}

TEST_CASE("DICOM TLS port refuses plain DICOM, untrusted and missing client certificates",
          "[tls]") {
  const TestCertificates certificates;
  const std::uint16_t tls_port = FreeTcpPort();
  ArchiveProcess archive(TlsArchiveOptions(certificates, tls_port));

  SECTION("plain DICOM on the TLS port") {
    const ToolResult plain = TlsEcho(archive, tls_port, {});
    INFO(plain.Describe());
    CHECK(plain.exit_code != 0);
  }
  SECTION("a client certificate from another CA") {
    const ToolResult stranger =
        TlsEcho(archive, tls_port, TlsOptions(certificates, certificates.stranger));
    INFO(stranger.Describe());
    CHECK(stranger.exit_code != 0);
  }
  SECTION("no client certificate") {
    const ToolResult anonymous =
        TlsEcho(archive, tls_port, {"--anonymous-tls", "+cf", certificates.ca.certificate});
    INFO(anonymous.Describe());
    CHECK(anonymous.exit_code != 0);
  }
  CHECK(WaitUntil([&] { return archive.Log().find("TLS handshake failed") != std::string::npos; },
                  10s));
  // Still serving TLS clients with a trusted certificate.
  const ToolResult trusted =
      TlsEcho(archive, tls_port, TlsOptions(certificates, certificates.client));
  INFO(trusted.Describe());
  CHECK(trusted.exit_code == 0);
}

TEST_CASE("a client that stalls in its TLS handshake delays no one and is dropped at the "
          "request deadline",
          "[tls]") {
  const TestCertificates certificates;
  const std::uint16_t tls_port = FreeTcpPort();
  ArchiveProcess archive(TlsArchiveOptions(certificates, tls_port));

  // A TLS record header announcing a ClientHello, then nothing.
  const auto stalled_at = Clock::now();
  StalledConnection stalled(tls_port, std::string("\x16\x03\x01\x02\x00", 5));
  const auto echo_started = Clock::now();
  const ToolResult echo =
      TlsEcho(archive, tls_port, TlsOptions(certificates, certificates.client));
  const double echo_seconds =
      std::chrono::duration<double>(Clock::now() - echo_started).count();
  INFO(echo.Describe());
  CHECK(echo.exit_code == 0);
  CHECK(echo_seconds < 2.5);  // well inside the stalled client's 3 s deadline

  REQUIRE(stalled.ClosedByPeer(15s));
  const double closed_after = std::chrono::duration<double>(Clock::now() - stalled_at).count();
  CHECK(closed_after >= 2.9);
  CHECK(closed_after < 8.0);
  CHECK(WaitUntil(
      [&] {
        return archive.Log().find("TLS handshake and A-ASSOCIATE-RQ did not arrive whole") !=
               std::string::npos;
      },
      5s));
}

}  // namespace hokan::integration

namespace hokan::integration {
namespace {

// Facility "secure" (calling AE SECURE_CT) requires TLS and trusts only
// client certificates of its own CA; "clinic" (IT_MODALITY) has no TLS
// rules. `port_trusts_test_ca`: [archive] tls_trusted_certificates is the
// test CA (every TLS client must present a certificate); else it is unset
// (a certificate is asked for, and checked when sent).
ArchiveOptions SecureFacilityOptions(const TestCertificates& certificates,
                                     std::uint16_t tls_port, bool port_trusts_test_ca) {
  ArchiveOptions options = TlsArchiveOptions(certificates, tls_port);
  if (!port_trusts_test_ca) {
    auto& settings = options.extra_archive_settings;
    settings.erase(std::remove_if(settings.begin(), settings.end(),
                                  [](const std::string& line) {
                                    return line.rfind("tls_trusted_certificates", 0) == 0;
                                  }),
                   settings.end());
  }
  options.facilities.push_back({"secure", {"SECURE_CT"}, {}, {}, true});
  options.facility_lines["secure"] = {
      "tls_required = true",
      "trusted_certificates = " + certificates.facility_ca.certificate};
  return options;
}

bool LogHas(const ArchiveProcess& archive, const std::string& text) {
  return WaitUntil([&] { return archive.Log().find(text) != std::string::npos; }, 10s);
}

}  // namespace

TEST_CASE("a facility with tls_required and trusted_certificates admits only its trusted TLS "
          "clients",
          "[tls]") {
  const TestCertificates certificates;
  const std::uint16_t tls_port = FreeTcpPort();
  ArchiveProcess archive(SecureFacilityOptions(certificates, tls_port, true));

  // On the plain port: refused for "secure", served for "clinic".
  const ToolResult plain = archive.Echo("SECURE_CT");
  INFO(plain.Describe());
  CHECK(plain.exit_code != 0);
  CHECK(LogHas(archive, "facility 'secure' requires DICOM TLS"));
  CHECK(archive.Echo(archive.probe_ae()).exit_code == 0);

  // Over TLS with the facility's own client certificate: served.
  const ToolResult trusted = TlsEcho(
      archive, tls_port, TlsOptions(certificates, certificates.facility_client), "SECURE_CT");
  INFO(trusted.Describe());
  CHECK(trusted.exit_code == 0);

  // Over TLS with a certificate the port trusts but the facility does not.
  const ToolResult other = TlsEcho(archive, tls_port,
                                   TlsOptions(certificates, certificates.client), "SECURE_CT");
  INFO(other.Describe());
  CHECK(other.exit_code != 0);
  CHECK(LogHas(archive, "facility 'secure' trusts other client certificates"));

  // "clinic" has no rule: its TLS client with the port's CA is served.
  CHECK(TlsEcho(archive, tls_port, TlsOptions(certificates, certificates.client)).exit_code == 0);
}

TEST_CASE("a facility's trusted_certificates refuse a TLS client without a certificate while "
          "other facilities' anonymous TLS clients are served",
          "[tls]") {
  const TestCertificates certificates;
  const std::uint16_t tls_port = FreeTcpPort();
  ArchiveProcess archive(SecureFacilityOptions(certificates, tls_port, false));
  const std::vector<std::string> anonymous{"--anonymous-tls", "+cf",
                                           certificates.ca.certificate};

  const ToolResult secure = TlsEcho(archive, tls_port, anonymous, "SECURE_CT");
  INFO(secure.Describe());
  CHECK(secure.exit_code != 0);
  CHECK(LogHas(archive, "the client presented no certificate"));

  const ToolResult clinic = TlsEcho(archive, tls_port, anonymous);
  INFO(clinic.Describe());
  CHECK(clinic.exit_code == 0);

  const ToolResult trusted = TlsEcho(
      archive, tls_port, TlsOptions(certificates, certificates.facility_client), "SECURE_CT");
  INFO(trusted.Describe());
  CHECK(trusted.exit_code == 0);
}

TEST_CASE("the archive refuses to start with an unusable TLS configuration", "[tls]") {
  const TestCertificates certificates;
  ArchiveOptions options = TlsArchiveOptions(certificates, FreeTcpPort());
  SECTION("a private key that does not match the certificate") {
    options.extra_archive_settings[2] = "tls_private_key = " + certificates.client.key;
    CHECK_THROWS_WITH(ArchiveProcess(options),
                      Catch::Contains("does not match certificate"));
  }
  SECTION("a facility requiring TLS without a TLS port") {
    options.extra_archive_settings = {};
    options.facility_lines[options.facilities.front().name] = {"tls_required = true"};
    CHECK_THROWS_WITH(ArchiveProcess(options),
                      Catch::Contains("requires DICOM TLS (tls_required or trusted_certificates) "
                                      "but 'archive.tls_port' is not set"));
  }
}

}  // namespace hokan::integration

namespace hokan::integration {

TEST_CASE("C-MOVE sub-operations go over DICOM TLS to a destination marked /tls", "[tls]") {
  const TestCertificates certificates;
  // DCMTK's storescp with TLS, its certificate issued by the test CA; it
  // requires the archive's certificate (issued by the same CA).
  TempDir destination_dir{"hokan-tls-destination"};
  fs::create_directories(destination_dir.path() / "in");
  const std::uint16_t destination_port = FreeTcpPort();
  const auto destination_tls = TlsOptions(certificates, certificates.client);
  std::vector<std::string> storescp{"storescp", "-od", (destination_dir.path() / "in").string()};
  storescp.insert(storescp.end(), destination_tls.begin(), destination_tls.end());
  storescp.push_back(std::to_string(destination_port));
  BackgroundProcess destination(storescp, destination_dir.path() / "storescp.log",
                                destination_dir.path());
  std::vector<std::string> probe{"echoscu"};
  probe.insert(probe.end(), destination_tls.begin(), destination_tls.end());
  probe.insert(probe.end(), {"localhost", std::to_string(destination_port)});
  REQUIRE(WaitUntil([&] { return RunTool(probe, {}, 5s).exit_code == 0; }, 30s));

  ArchiveOptions options = TlsArchiveOptions(certificates, FreeTcpPort());
  options.extra_facility_lines = {"move_destinations = TLS_DEST@127.0.0.1:" +
                                  std::to_string(destination_port) + "/tls"};
  ArchiveProcess archive(options);
  TempDir data;
  const auto study =
      MakeStudy(data.path() / "study", {"--count", "3", "--patient-id", "TLS_PATIENT"});
  const ToolResult stored = archive.StoreScu(archive.probe_ae(), {"-v"}, PathsOf(study));
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);

  const ToolResult moved =
      RunTool({"movescu", "-v", "-P", "-to", "5", "-ta", "10", "-td", "60", "-aet",
               archive.probe_ae(), "-aec", archive.ae_title(), "-aem", "TLS_DEST", "-k",
               "QueryRetrieveLevel=PATIENT", "-k", "PatientID=TLS_PATIENT", "localhost",
               std::to_string(archive.port())},
              {}, 60s);
  INFO(moved.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(moved.exit_code == 0);
  // The destination speaks only TLS: a plain association to it would fail.
  CHECK(WaitUntil([&] { return ListFilesRecursive(destination_dir.path() / "in").size() == 3; },
                  10s));
}

}  // namespace hokan::integration

namespace hokan::integration {

TEST_CASE("hokan-forward receives over DICOM TLS and forwards to the archive's TLS port", "[tls]") {
  const TestCertificates certificates;
  const std::uint16_t archive_tls_port = FreeTcpPort();
  ArchiveOptions archive_options = TlsArchiveOptions(certificates, archive_tls_port);
  archive_options.facilities.front().store_ae_titles.push_back("RELAY");
  ArchiveProcess archive(archive_options);

  // The relay's certificate (the test "client" one) is issued by the CA the
  // archive trusts; it trusts the same CA for its clients and the archive.
  RelayOptions relay_options;
  relay_options.ae_title = "RELAY";
  relay_options.modality_ae_titles = {"MODALITY"};
  relay_options.archive_ae_title = archive.ae_title();
  relay_options.archive_port = archive_tls_port;
  const std::uint16_t relay_tls_port = FreeTcpPort();
  relay_options.settings = {
      {"timing", {"mode = on_receipt", "retry_initial_seconds = 1", "retry_max_seconds = 2"}},
      {"archive", {"parallel_associations = 1", "tls = true", "contract_refresh_seconds = 600"}},
      {"relay",
       {"tls_port = " + std::to_string(relay_tls_port),
        "tls_certificate = " + certificates.client.certificate,
        "tls_private_key = " + certificates.client.key,
        "tls_trusted_certificates = " + certificates.ca.certificate}}};
  RelayProcess relay(relay_options);
  relay.Start();

  TempDir data;
  const auto study = MakeStudy(data.path() / "study", {"--count", "3"});
  std::vector<std::string> store{"storescu", "-v", "-to", "5", "-ta", "10", "-td", "30"};
  const auto modality_tls = TlsOptions(certificates, certificates.client);
  store.insert(store.end(), modality_tls.begin(), modality_tls.end());
  store.insert(store.end(), {"-aet", "MODALITY", "-aec", "RELAY", "localhost",
                             std::to_string(relay_tls_port)});
  for (const std::string& path : PathsOf(study)) store.push_back(path);
  const ToolResult stored = RunTool(store, {}, 60s);
  INFO(stored.Describe() << "\nrelay log:\n" << relay.Log());
  REQUIRE(stored.exit_code == 0);
  CHECK(CountStoreSuccesses(stored.output) == 3);

  // Forwarded over TLS: the archive's port given to the relay is its TLS one.
  INFO("relay log:\n" << relay.Log());
  CHECK(WaitUntil(
      [&] { return archive.sql().Count("SELECT count(*) FROM instances") == 3; }, 30s));
  // The contract's timing is asked over TLS too (N-GET, scu/contract_timing.h).
  CHECK(WaitUntil([&] { return relay.Log().find("on receipt from contract") != std::string::npos; },
                  30s));
}

}  // namespace hokan::integration
