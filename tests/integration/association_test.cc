// Association acceptance: who may talk to the archive, as echoscu (and a raw
// association, for the exact A-ASSOCIATE-RJ fields) sees it.

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_wire.h"

namespace hokan::integration {
namespace {

const std::vector<PresentationContextProposal> kVerificationOnly = {
    {1, kVerificationSopClass, {kExplicitVrLittleEndian, kImplicitVrLittleEndian}}};

AssociateOutcome RawAssociate(const ArchiveProcess& archive, const std::string& calling,
                              const std::string& called) {
  RawDicomConnection connection(archive.port(), 10s);
  return connection.Associate(calling, called, kVerificationOnly);
}

}  // namespace

TEST_CASE("echoscu with a known calling AE title succeeds", "[association]") {
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  ToolResult echo = archive.Echo("IT_MODALITY");
  INFO(echo.Describe());
  CHECK(echo.exit_code == 0);
  CHECK(echo.output.find("Received Echo Response (Success)") != std::string::npos);

  RawDicomConnection raw(archive.port());
  AssociateOutcome outcome = raw.Associate("IT_MODALITY", archive.ae_title(), kVerificationOnly);
  REQUIRE(outcome.kind == AssociateOutcome::Kind::kAccepted);
  CHECK(outcome.accepted.count(1) == 1);
  CHECK(raw.Echo(1, 7) == 0x0000);
  raw.Release();
}

TEST_CASE("an unknown calling AE title is rejected permanently", "[association]") {
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  ToolResult echo = archive.Echo("NOBODY_KNOWS_ME");
  INFO(echo.Describe());
  CHECK(echo.exit_code != 0);
  CHECK(echo.output.find("Association Rejected") != std::string::npos);
  CHECK(echo.output.find("Rejected Permanent") != std::string::npos);
  CHECK(echo.output.find("Calling AE Title Not Recognized") != std::string::npos);

  AssociateOutcome outcome = RawAssociate(archive, "NOBODY_KNOWS_ME", archive.ae_title());
  REQUIRE(outcome.kind == AssociateOutcome::Kind::kRejected);
  CHECK(outcome.reject.result == 1);  // rejected-permanent
  CHECK(outcome.reject.source == 1);  // service user
  CHECK(outcome.reject.reason == 3);  // calling-AE-title-not-recognized

  INFO("archive log:\n" << archive.Log());
  CHECK(archive.Log().find("NOBODY_KNOWS_ME") != std::string::npos);
}

TEST_CASE("a wrong called AE title is rejected", "[association]") {
  ArchiveProcess archive(SingleFacilityOptions("IT_MODALITY"));

  ToolResult echo = archive.Echo("IT_MODALITY", "NOT_THE_ARCHIVE");
  INFO(echo.Describe());
  CHECK(echo.exit_code != 0);
  CHECK(echo.output.find("Association Rejected") != std::string::npos);
  CHECK(echo.output.find("Called AE Title Not Recognized") != std::string::npos);

  AssociateOutcome outcome = RawAssociate(archive, "IT_MODALITY", "NOT_THE_ARCHIVE");
  REQUIRE(outcome.kind == AssociateOutcome::Kind::kRejected);
  CHECK(outcome.reject.result == 1);  // rejected-permanent
  CHECK(outcome.reject.source == 1);  // service user
  CHECK(outcome.reject.reason == 7);  // called-AE-title-not-recognized
}

TEST_CASE("a calling AE title from a peer address its facility does not allow is rejected",
          "[association]") {
  ArchiveOptions options;
  options.facilities.push_back({"open", {"IT_OPEN"}, {}, {}});
  // Only ever configured, never contacted: the test connects from 127.0.0.1.
  options.facilities.push_back({"remote", {"IT_REMOTE"}, {"10.9.9.9"}, {}});
  options.facilities.push_back({"local", {"IT_LOCAL"}, {"10.9.9.9", "127.0.0.0/8"}, {}});
  ArchiveProcess archive(options);

  ToolResult refused = archive.Echo("IT_REMOTE");
  INFO(refused.Describe());
  CHECK(refused.exit_code != 0);
  CHECK(refused.output.find("Calling AE Title Not Recognized") != std::string::npos);

  AssociateOutcome outcome = RawAssociate(archive, "IT_REMOTE", archive.ae_title());
  REQUIRE(outcome.kind == AssociateOutcome::Kind::kRejected);
  CHECK(outcome.reject.result == 1);
  CHECK(outcome.reject.source == 1);
  CHECK(outcome.reject.reason == 3);

  // A facility whose networks include the loopback address is let in.
  ToolResult allowed = archive.Echo("IT_LOCAL");
  INFO(allowed.Describe());
  CHECK(allowed.exit_code == 0);
}

TEST_CASE("associations beyond max_associations are rejected transiently", "[association]") {
  ArchiveOptions options = SingleFacilityOptions("IT_MODALITY");
  options.max_associations = 2;
  ArchiveProcess archive(options);

  // Hold every slot. The readiness probe's association may still be
  // finishing, so each hold is retried until accepted (deadline, no sleep).
  std::vector<std::unique_ptr<RawDicomConnection>> held;
  for (int i = 0; i < 2; ++i) {
    bool accepted = WaitUntil(
        [&] {
          auto connection = std::make_unique<RawDicomConnection>(archive.port(), 10s);
          auto outcome =
              connection->Associate("IT_MODALITY", archive.ae_title(), kVerificationOnly);
          if (outcome.kind != AssociateOutcome::Kind::kAccepted) return false;
          held.push_back(std::move(connection));
          return true;
        },
        10s, 50ms);
    REQUIRE(accepted);
  }

  ToolResult echo = archive.Echo("IT_MODALITY");
  INFO(echo.Describe());
  CHECK(echo.exit_code != 0);
  CHECK(echo.output.find("Rejected Transient") != std::string::npos);
  CHECK(echo.output.find("Local Limit Exceeded") != std::string::npos);

  AssociateOutcome outcome = RawAssociate(archive, "IT_MODALITY", archive.ae_title());
  REQUIRE(outcome.kind == AssociateOutcome::Kind::kRejected);
  CHECK(outcome.reject.result == 2);  // rejected-transient
  CHECK(outcome.reject.source == 3);  // service provider (presentation)
  CHECK(outcome.reject.reason == 2);  // local-limit-exceeded

  // The held associations still work, and freeing one lets a new one in.
  CHECK(held[0]->Echo(1, 1) == 0x0000);
  held[0]->Release();
  CHECK(WaitUntil([&] { return archive.Echo("IT_MODALITY").exit_code == 0; }, 10s, 50ms));
  held[1]->Release();
}

}  // namespace hokan::integration
