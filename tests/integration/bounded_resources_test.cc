// Bounded resources (issue 14, item 3): C-FIND streams its matches (the
// archive's peak RSS stays flat over 100,000 of them) within a maximum
// number of matches and a statement timeout; oversized identifiers are
// refused. The index rows beyond one stored instance are copies of its row
// made with SQL (C-FIND reads no file).

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <future>
#include <string>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"

#include "tests/integration/archive_process.h"
#include "tests/integration/commitment_peer.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

// What one C-FIND brought back: how many pending responses, the final
// status and its Error Comment.
struct FindCount {
  OFCondition condition = EC_Normal;
  std::size_t pending = 0;
  std::uint16_t final_status = 0xFFFF;  // none received
  std::string comment;
};

// A Study Root C-FIND client that counts the responses and keeps none.
class CountingFindScu : public DcmSCU {
 public:
  FindCount count;

 protected:
  OFCondition handleFINDResponse(const T_ASC_PresentationContextID /*context*/,
                                 QRResponse* response, OFBool& wait_for_next) override {
    if (response->m_status == 0xFF00 || response->m_status == 0xFF01) {
      ++count.pending;
      wait_for_next = OFTrue;
      return EC_Normal;
    }
    count.final_status = response->m_status;
    if (response->m_statusDetail != nullptr) {
      OFString comment;
      response->m_statusDetail->findAndGetOFString(DCM_ErrorComment, comment);
      count.comment = comment.c_str();
    }
    wait_for_next = OFFalse;
    return EC_Normal;
  }
};

FindCount CountFind(const ArchiveProcess& archive, const std::string& calling_ae,
                    DcmDataset& identifier) {
  OFLog::configure(OFLogger::WARN_LOG_LEVEL);  // no line per response
  CountingFindScu scu;
  scu.setAETitle(calling_ae.c_str());
  scu.setPeerAETitle(archive.ae_title().c_str());
  scu.setPeerHostName("127.0.0.1");
  scu.setPeerPort(archive.port());
  scu.setACSETimeout(10);
  scu.setDIMSETimeout(120);
  scu.setDIMSEBlockingMode(DIMSE_BLOCKING);
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel, syntaxes);
  REQUIRE(scu.initNetwork().good());
  const OFCondition negotiated = scu.negotiateAssociation();
  INFO(negotiated.text());
  REQUIRE(negotiated.good());
  const T_ASC_PresentationContextID context =
      scu.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, "");
  REQUIRE(context != 0);
  scu.count.condition = scu.sendFINDRequest(context, &identifier, nullptr);
  if (scu.count.condition.good()) {
    scu.releaseAssociation();
  } else {
    scu.abortAssociation();
  }
  return scu.count;
}

// An IMAGE-level identifier for every instance of `series_uid`, with enough
// return keys that holding the matches whole would show in the RSS.
DcmDataset ImageQuery(const std::string& series_uid) {
  DcmDataset identifier;
  identifier.putAndInsertString(DCM_QueryRetrieveLevel, "IMAGE");
  identifier.putAndInsertString(DCM_SeriesInstanceUID, series_uid.c_str());
  for (const DcmTagKey& key :
       {DCM_StudyInstanceUID, DCM_SOPInstanceUID, DCM_SOPClassUID, DCM_InstanceNumber,
        DCM_Rows, DCM_Columns, DCM_NumberOfFrames, DCM_PatientName, DCM_PatientID,
        DCM_StudyDate, DCM_StudyDescription, DCM_AccessionNumber, DCM_Modality,
        DCM_SeriesDescription, DCM_SeriesNumber}) {
    identifier.insertEmptyElement(key);
  }
  return identifier;
}

// The pid of the archive running in `archive`'s directory (its command
// line names <work>/hokan.ini).
int ArchivePid(const ArchiveProcess& archive) {
  const std::string config = (archive.work_dir() / "hokan.ini").string();
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file(entry.path() / "cmdline");
    std::string command_line((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
    if (command_line.find(config) != std::string::npos &&
        command_line.find("hokan-archive") != std::string::npos) {
      return std::stoi(name);
    }
  }
  return -1;
}

// VmHWM (peak resident set) of process `pid`, in kB; -1 when unreadable.
long PeakRssKb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Stores one instance as IT_MODALITY and copies its index row until the
// series holds `instances`; returns the series UID.
std::string SeriesOfCopies(ArchiveProcess& archive, const fs::path& data, int instances) {
  MakeStudy(data / "one", {"--count", "1", "--patient-id", "P-BOUNDS"});
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data / "one").string()}).exit_code == 0);
  archive.sql().Execute(
      "INSERT INTO instances (facility_id, series_fk, sop_instance_uid, sop_class_uid,"
      " instance_number, rows, columns, specific_character_set, transfer_syntax_uid,"
      " relative_path, size_bytes, checksum_sha256, received_at, calling_ae)"
      " SELECT i.facility_id, i.series_fk, i.sop_instance_uid || '.' || n, i.sop_class_uid,"
      " n, i.rows, i.columns, i.specific_character_set, i.transfer_syntax_uid,"
      " i.relative_path || '.' || n, i.size_bytes, i.checksum_sha256, i.received_at, i.calling_ae"
      " FROM instances i, generate_series(2, $1::integer) AS n",
      {std::to_string(instances)});
  archive.sql().Execute("ANALYZE instances");
  return archive.sql().Value("SELECT series_instance_uid FROM series");
}

ArchiveOptions OptionsWith(std::vector<std::string> archive_settings) {
  ArchiveOptions options = SingleFacilityOptions();
  options.facilities.front().query_ae_titles = {"IT_VIEWER"};
  options.extra_archive_settings = std::move(archive_settings);
  return options;
}

}  // namespace

// The bound: what the archive may grow by while answering 100,000 matches.
// Holding them whole (one libpq result) grew it by 58 MB; streaming, by
// under 1 MB.
constexpr long kFindGrowthBoundKb = 24 * 1024;

TEST_CASE("a C-FIND over 100000 matches streams them in flat memory", "[bounds][find]") {
  constexpr int kMatches = 100000;
  TempDir data("hokan-it-bounds");
  ArchiveProcess archive(OptionsWith({"find_max_matches = 0"}));
  const std::string series_uid = SeriesOfCopies(archive, data.path(), kMatches);
  const int pid = ArchivePid(archive);
  REQUIRE(pid > 0);
  const long before = PeakRssKb(pid);
  REQUIRE(before > 0);

  DcmDataset identifier = ImageQuery(series_uid);
  const FindCount found = CountFind(archive, "IT_VIEWER", identifier);
  const long after = PeakRssKb(pid);
  INFO("peak RSS before " << before << " kB, after " << after << " kB");
  CHECK(found.condition.good());
  CHECK(found.final_status == 0x0000);
  CHECK(found.pending == static_cast<std::size_t>(kMatches));
  CHECK(after - before < kFindGrowthBoundKb);
  WARN("archive peak RSS (VmHWM) during a " << kMatches << "-match C-FIND: " << after
                                            << " kB (before: " << before << " kB)");
}

TEST_CASE("C-FIND beyond the maximum number of matches is refused before any response",
          "[bounds][find]") {
  TempDir data("hokan-it-bounds-cap");
  ArchiveProcess archive(OptionsWith({"find_max_matches = 30"}));
  const std::string series_uid = SeriesOfCopies(archive, data.path(), 31);

  DcmDataset over = ImageQuery(series_uid);
  const FindCount refused = CountFind(archive, "IT_VIEWER", over);
  INFO(refused.comment);
  CHECK(refused.final_status == 0xA700);
  CHECK(refused.pending == 0);
  CHECK(refused.comment.find("more than 30 matches") != std::string::npos);
  CHECK(refused.comment.find("archive.find_max_matches") != std::string::npos);

  archive.sql().Execute("DELETE FROM instances WHERE instance_number = '31'");
  DcmDataset within = ImageQuery(series_uid);
  const FindCount answered = CountFind(archive, "IT_VIEWER", within);
  CHECK(answered.final_status == 0x0000);
  CHECK(answered.pending == 30);
}

TEST_CASE("a C-FIND past the statement timeout ends with a failure status, the archive serves on",
          "[bounds][find]") {
  TempDir data("hokan-it-bounds-timeout");
  ArchiveProcess archive(
      OptionsWith({"find_max_matches = 1000000", "find_statement_timeout_ms = 1"}));
  const std::string series_uid = SeriesOfCopies(archive, data.path(), 100000);

  DcmDataset identifier = ImageQuery(series_uid);
  const FindCount stopped = CountFind(archive, "IT_VIEWER", identifier);
  INFO(stopped.comment);
  CHECK(stopped.final_status == 0xA700);
  CHECK(stopped.comment.find("took over 1 ms") != std::string::npos);
  CHECK(stopped.comment.find("archive.find_statement_timeout_ms") != std::string::npos);
  CHECK(archive.Running());
  CHECK(RunTool({"echoscu", "-aet", archive.probe_ae(), "-aec", archive.ae_title(), "127.0.0.1",
                 std::to_string(archive.port())})
            .exit_code == 0);
}

TEST_CASE("an identifier with 5000 keys is refused with a comment naming the limit",
          "[bounds][find][bad-input]") {
  ArchiveProcess archive(OptionsWith({}));
  DcmDataset identifier;
  identifier.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  identifier.insertEmptyElement(DCM_StudyInstanceUID);
  for (Uint16 element = 0x1000; element < 0x1000 + 4998; ++element) {
    identifier.putAndInsertString(DcmTag(0x0009, element, EVR_LO), "x");  // private keys
  }
  REQUIRE(identifier.card() == 5000);
  const FindCount refused = CountFind(archive, "IT_VIEWER", identifier);
  INFO(refused.comment);
  CHECK(refused.final_status == 0xA700);
  CHECK(refused.pending == 0);
  CHECK(refused.comment == "over 256 keys (archive.max_identifier_keys)");

  DcmDataset small;
  small.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  small.insertEmptyElement(DCM_StudyInstanceUID);
  CHECK(CountFind(archive, "IT_VIEWER", small).final_status == 0x0000);
}

TEST_CASE("an identifier far over every data set limit is cut off while it arrives",
          "[bounds][find][bad-input]") {
  ArchiveProcess archive(
      OptionsWith({"max_identifier_bytes = 64K", "max_commitment_bytes = 64K"}));
  DcmDataset identifier;
  identifier.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  identifier.insertEmptyElement(DCM_StudyInstanceUID);
  const std::vector<Uint8> filler(8 * 1024 * 1024, 0x55);
  identifier.putAndInsertUint8Array(DcmTag(0x0009, 0x1010, EVR_OB), filler.data(),
                                    static_cast<unsigned long>(filler.size()));
  const auto started = std::chrono::steady_clock::now();
  const FindCount cut = CountFind(archive, "IT_VIEWER", identifier);
  // The connection is reset, not left for the client's TCP timeout.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  INFO(cut.condition.text() << "\n" << archive.Log());
  CHECK(cut.condition.bad());  // no response: the connection was closed
  CHECK(cut.final_status == 0xFFFF);
  CHECK(ContainsIgnoreCase(archive.Log(), "a data set passed 65536 bytes while arriving"));
  CHECK(archive.Running());

  DcmDataset small;
  small.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  small.insertEmptyElement(DCM_StudyInstanceUID);
  CHECK(CountFind(archive, "IT_VIEWER", small).final_status == 0x0000);
}

TEST_CASE("a Storage Commitment request beyond the item limit is refused with 0x0213",
          "[bounds][commitment]") {
  ArchiveOptions options = OptionsWith({"max_commitment_items = 100"});
  ArchiveProcess archive(options);
  std::vector<std::pair<std::string, std::string>> items;
  for (int n = 0; n < 101; ++n) {
    items.emplace_back("1.2.840.10008.5.1.4.1.1.2",
                       "1.2.826.0.1.3680043.2.1125.777." + std::to_string(n));
  }
  const auto information = CommitmentRequestDataset("1.2.826.0.1.3680043.2.1125.778.1", items);
  CommitmentRequester requester("IT_MODALITY", archive.ae_title(), archive.port());
  REQUIRE(requester.Open().empty());
  const ActionAnswer answer = requester.RequestCommitment(*information);
  requester.Release();
  INFO(answer.error << " " << answer.error_comment);
  CHECK(answer.error.empty());
  CHECK(answer.status == 0x0213);
  CHECK(answer.error_comment == "over 100 items (archive.max_commitment_items)");
  CHECK(archive.sql().Count("SELECT count(*) FROM commitment_requests") == 0);
}

TEST_CASE("a query-only AE's C-STORE is refused at negotiation and writes nothing",
          "[bounds][store]") {
  TempDir data("hokan-it-bounds-query-only");
  MakeStudy(data.path() / "one", {"--count", "1"});
  ArchiveProcess archive(OptionsWith({}));
  const ToolResult sent = archive.StoreScu("IT_VIEWER", {"+sd", "-v"}, {(data.path() / "one").string()});
  INFO(sent.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(sent.exit_code != 0);
  // Every context storescu proposes is a storage one, so none is left and
  // DCMTK rejects the association; with others it would report "no
  // presentation context" for the file.
  CHECK((ContainsIgnoreCase(sent.output, "Association Rejected") ||
         ContainsIgnoreCase(sent.output, "no presentation context")));
  CHECK(sent.output.find("Received Store Response") == std::string::npos);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
  CHECK(ContainsIgnoreCase(archive.Log(), "storage context(s) refused: may not store"));
}

TEST_CASE("a C-STORE over the maximum object size is refused with 0xA700 and not kept",
          "[bounds][store]") {
  TempDir data("hokan-it-bounds-large");
  MakeStudy(data.path() / "large", {"--count", "1", "--rows", "1024", "--columns", "1024"});
  MakeStudy(data.path() / "small", {"--count", "1", "--rows", "16", "--columns", "16"});
  ArchiveProcess archive(OptionsWith({"max_object_bytes = 256K"}));

  const ToolResult large =
      archive.StoreScu("IT_MODALITY", {"+sd", "-d"}, {(data.path() / "large").string()});
  INFO(large.Describe().substr(0, 4000));
  const auto statuses = DimseStatusesFromDebugOutput(large.output);
  CHECK(statuses == std::vector<std::uint16_t>{0xA700});
  CHECK(large.output.find("object over 262144 bytes (archive.max_object_bytes)") !=
        std::string::npos);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 0);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
  CHECK(ContainsIgnoreCase(archive.Log(), "over 262144 bytes: discarding it"));
  for (const auto& file : ListFilesRecursive(archive.storage_root())) {
    CHECK(file.filename().string().find(".dcm") == std::string::npos);
  }

  const ToolResult small =
      archive.StoreScu("IT_MODALITY", {"+sd", "-v"}, {(data.path() / "small").string()});
  CHECK(small.exit_code == 0);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == 1);
}

// A measurement for the closing note, not a check: hidden ([.]),
// run by hand with
//   hokan_integration_tests "[measure]" -s
TEST_CASE("peak RSS of the archive during 64 concurrent storing associations",
          "[.][measure]") {
  constexpr int kAssociations = 64;
  TempDir data("hokan-it-bounds-64");
  for (int n = 0; n < kAssociations; ++n) {
    MakeStudy(data.path() / std::to_string(n),
              {"--count", "10", "--rows", "256", "--columns", "256"});
  }
  ArchiveOptions options = OptionsWith({});
  options.max_associations = kAssociations + 2;
  ArchiveProcess archive(options);
  const int pid = ArchivePid(archive);
  REQUIRE(pid > 0);
  const long before = PeakRssKb(pid);
  std::vector<std::future<ToolResult>> sends;
  for (int n = 0; n < kAssociations; ++n) {
    const std::string folder = (data.path() / std::to_string(n)).string();
    sends.push_back(std::async(std::launch::async, [&archive, folder] {
      return archive.StoreScu("IT_MODALITY", {"+sd"}, {folder});
    }));
  }
  for (auto& send : sends) CHECK(send.get().exit_code == 0);
  const long after = PeakRssKb(pid);
  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == kAssociations * 10);
  WARN("archive peak RSS (VmHWM) during " << kAssociations
                                          << " concurrent storing associations: " << after
                                          << " kB (before: " << before << " kB)");
}

}  // namespace hokan::integration
