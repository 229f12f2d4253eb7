// Purposes of retrieval against a real archive: the archive answers on each
// purpose's called AE title, admits only callers granted the purpose, limits
// C-FIND, C-MOVE and C-GET to the purpose's available range (modalities,
// report rights, downscaled derived images) and records one fee event per
// study, purpose and day (billing/fee_recorder.h).

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <future>
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

// One facility: IT_MODALITY stores, IT_VIEWER and IT_OTHER query; the
// destination is IT_VIEWER's.
ArchiveOptions PurposeOptions(std::uint16_t destination_port) {
  ArchiveOptions options;
  options.facilities = {{"clinic", {"IT_MODALITY"}, {}, {"IT_VIEWER", "IT_OTHER"}}};
  options.extra_facility_lines = {"move_destinations = IT_VIEWER@127.0.0.1:" +
                                  std::to_string(destination_port)};
  return options;
}

// diagnosis (HOKAN_DX): everything, reports too, 1000 JPY an exam.
// referral (HOKAN_REF): CT only, at most 128x128, 300 JPY.
// research (HOKAN_RES): every modality, no reports, 50 JPY for CT, else 70.
// IT_VIEWER is granted all three; IT_OTHER none.
void AddPurposes(ArchiveProcess& archive) {
  auto& sql = archive.sql();
  const std::string now = archive.ClockNow();
  sql.Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, may_retrieve_reports, "
      "                      created_at, updated_at) "
      "VALUES ('diagnosis', 'HOKAN_DX', '{*}', true, $1, $1)",
      {now});
  sql.Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, max_rows, max_columns, "
      "                      created_at, updated_at) "
      "VALUES ('referral', 'HOKAN_REF', '{CT}', 128, 128, $1, $1)",
      {now});
  sql.Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, created_at, updated_at) "
      "VALUES ('research', 'HOKAN_RES', '{*}', $1, $1)",
      {now});
  sql.Execute(
      "INSERT INTO purpose_grants (purpose_id, facility_id, ae_title, granted_at) "
      "SELECT p.id, e.facility_id, e.ae_title, $1 FROM purposes p, application_entities e "
      " WHERE e.ae_title = 'IT_VIEWER' AND e.role <> 'destination'",
      {now});
  sql.Execute(
      "INSERT INTO fee_schedules (purpose_id, modality, amount_minor, currency, effective_from, "
      "                           created_at) "
      "SELECT id, NULL, 1000, 'JPY', DATE '2000-01-01', $1::timestamptz FROM purposes "
      " WHERE name = 'diagnosis' "
      "UNION ALL "
      "SELECT id, NULL, 300, 'JPY', DATE '2000-01-01', $1 FROM purposes WHERE name = 'referral' "
      "UNION ALL "
      "SELECT id, 'CT', 50, 'JPY', DATE '2000-01-01', $1 FROM purposes WHERE name = 'research' "
      "UNION ALL "
      "SELECT id, NULL, 70, 'JPY', DATE '2000-01-01', $1 FROM purposes WHERE name = 'research'",
      {now});
}

ToolResult Move(const ArchiveProcess& archive, const std::string& called_ae,
                const std::vector<std::string>& keys,
                const std::string& destination = "IT_VIEWER") {
  std::vector<std::string> argv = {"movescu", "-d", "-S", "-to", "5", "-ta", "10", "-td", "60",
                                   "-aet", "IT_VIEWER", "-aec", called_ae, "-aem", destination};
  for (const auto& key : keys) {
    argv.push_back("-k");
    argv.push_back(key);
  }
  argv.push_back("localhost");
  argv.push_back(std::to_string(archive.port()));
  return RunTool(argv);
}

ToolResult MoveStudy(const ArchiveProcess& archive, const std::string& called_ae,
                     const std::string& study_uid) {
  return Move(archive, called_ae, {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study_uid});
}

int Completed(const ToolResult& result) {
  std::smatch match;
  std::string last;
  const std::regex pattern(R"(Completed Suboperations\s*:\s*(\d+))");
  for (auto it = std::sregex_iterator(result.output.begin(), result.output.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    last = (*it)[1];
  }
  // movescu prints no count for a retrieval without sub-operations.
  return last.empty() ? 0 : std::stoi(last);
}

std::uint16_t FinalStatus(const ToolResult& result) {
  const auto statuses = DimseStatusesFromDebugOutput(result.output);
  return statuses.empty() ? 0xFFFF : statuses.back();
}

// findscu -S against `called_ae`; the responses' files.
struct FindResult {
  ToolResult tool;
  std::vector<std::string> values;  // per response: the value of `tag`
};

FindResult Find(const ArchiveProcess& archive, const std::string& calling_ae,
                const std::string& called_ae, const std::vector<std::string>& keys,
                const DcmTagKey& tag) {
  TempDir out("hokan-it-purpose-find");
  std::vector<std::string> argv = {"findscu", "-d", "-S", "-X", "-od", out.path().string(),
                                   "-to", "5", "-ta", "10", "-td", "30", "-aet", calling_ae,
                                   "-aec", called_ae};
  for (const auto& key : keys) {
    argv.push_back("-k");
    argv.push_back(key);
  }
  argv.push_back("localhost");
  argv.push_back(std::to_string(archive.port()));
  FindResult result;
  result.tool = RunTool(argv);
  for (const auto& file : ListFilesRecursive(out.path())) {
    DcmFileFormat format;
    REQUIRE(format.loadFile(file.c_str()).good());
    OFString value;
    format.getDataset()->findAndGetOFStringArray(tag, value);
    result.values.push_back(value.c_str());
  }
  std::sort(result.values.begin(), result.values.end());
  return result;
}

struct ImageFacts {
  std::string sop_instance_uid;
  int rows = 0;
  int columns = 0;
  std::string image_type;
  std::string source_uid;
};

ImageFacts FactsOf(const fs::path& file) {
  DcmFileFormat format;
  REQUIRE(format.loadFile(file.c_str()).good());
  DcmDataset& data_set = *format.getDataset();
  ImageFacts facts;
  OFString text;
  data_set.findAndGetOFString(DCM_SOPInstanceUID, text);
  facts.sop_instance_uid = text.c_str();
  Uint16 number = 0;
  data_set.findAndGetUint16(DCM_Rows, number);
  facts.rows = number;
  data_set.findAndGetUint16(DCM_Columns, number);
  facts.columns = number;
  data_set.findAndGetOFStringArray(DCM_ImageType, text);
  facts.image_type = text.c_str();
  DcmItem* source = nullptr;
  if (data_set.findAndGetSequenceItem(DCM_SourceImageSequence, source, 0).good()) {
    source->findAndGetOFString(DCM_ReferencedSOPInstanceUID, text);
    facts.source_uid = text.c_str();
  }
  return facts;
}

// Stores a CT study (3 images, 256x256) and an MR study (2 images) of one
// patient, and pydicom's test-SR.dcm; returns the studies' UIDs.
struct StoredStudies {
  std::string ct;
  std::string mr;
  std::string sr;
  std::vector<GeneratedInstance> ct_instances;
};

StoredStudies StoreStudies(ArchiveProcess& archive, const fs::path& data) {
  StoredStudies studies;
  studies.ct_instances = MakeStudy(data / "ct", {"--count", "3", "--rows", "256", "--columns",
                                                 "256", "--modality", "CT", "--patient-id",
                                                 "PURPOSE1", "--seed", "11"});
  MakeStudy(data / "mr", {"--count", "2", "--modality", "MR", "--patient-id", "PURPOSE1",
                          "--seed", "12"});
  for (const char* folder : {"ct", "mr"}) {
    const ToolResult stored = archive.StoreScu("IT_MODALITY", {"+sd"}, {(data / folder).string()});
    INFO(stored.Describe());
    REQUIRE(stored.exit_code == 0);
  }
  const ToolResult stored = archive.StoreScu(
      "IT_MODALITY", {}, {(PydicomDataDir() / "test_files" / "test-SR.dcm").string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  auto study_of = [&](const std::string& modality) {
    return archive.sql().Value(
        "SELECT DISTINCT s.study_instance_uid FROM studies s JOIN series e ON e.study_fk = s.id "
        "WHERE e.modality = $1",
        {modality});
  };
  studies.ct = study_of("CT");
  studies.mr = study_of("MR");
  studies.sr = study_of("SR");
  return studies;
}

}  // namespace

TEST_CASE("retrievals under two purposes charge their own fees, retries and parallel moves "
          "once", "[purpose]") {
  TempDir data("hokan-it-purpose-fees");
  Destination destination;
  ArchiveProcess archive(PurposeOptions(destination.port()));
  AddPurposes(archive);
  const StoredStudies studies = StoreStudies(archive, data.path());

  const ToolResult diagnosis = MoveStudy(archive, "HOKAN_DX", studies.ct);
  INFO(diagnosis.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(FinalStatus(diagnosis) == 0x0000);
  CHECK(Completed(diagnosis) == 3);
  const ToolResult research = MoveStudy(archive, "HOKAN_RES", studies.ct);
  CHECK(FinalStatus(research) == 0x0000);
  CHECK(Completed(research) == 3);

  const std::string fees_of_ct =
      "SELECT p.name, f.amount_minor, f.currency, f.modality, f.instances_delivered, "
      "f.instances_failed, f.calling_ae FROM fee_events f JOIN purposes p ON p.id = f.purpose_id "
      "WHERE f.study_instance_uid = $1 ORDER BY p.name";
  auto rows = archive.sql().Query(fees_of_ct, {studies.ct});
  REQUIRE(rows.size() == 2);
  CHECK(*rows[0][0] == "diagnosis");
  CHECK(*rows[0][1] == "1000");
  CHECK(*rows[0][2] == "JPY");
  CHECK(*rows[0][3] == "CT");
  CHECK(*rows[0][4] == "3");
  CHECK(*rows[0][5] == "0");
  CHECK(*rows[0][6] == "IT_VIEWER");
  CHECK(*rows[1][0] == "research");
  CHECK(*rows[1][1] == "50");  // research's CT line, not its default 70

  // A retry the same day: no second charge, the counts add up.
  const ToolResult retry = MoveStudy(archive, "HOKAN_DX", studies.ct);
  CHECK(Completed(retry) == 3);
  rows = archive.sql().Query(fees_of_ct, {studies.ct});
  REQUIRE(rows.size() == 2);
  CHECK(*rows[0][1] == "1000");
  CHECK(*rows[0][4] == "6");

  // Two parallel C-MOVEs of the MR study: one event, both deliveries counted.
  auto first = std::async(std::launch::async, [&] { return MoveStudy(archive, "HOKAN_DX", studies.mr); });
  auto second = std::async(std::launch::async, [&] { return MoveStudy(archive, "HOKAN_DX", studies.mr); });
  const ToolResult a = first.get();
  const ToolResult b = second.get();
  CHECK(Completed(a) == 2);
  CHECK(Completed(b) == 2);
  const auto mr_rows = archive.sql().Query(
      "SELECT amount_minor, instances_delivered, modality FROM fee_events "
      "WHERE study_instance_uid = $1",
      {studies.mr});
  REQUIRE(mr_rows.size() == 1);
  CHECK(*mr_rows[0][0] == "1000");
  CHECK(*mr_rows[0][1] == "4");
  CHECK(*mr_rows[0][2] == "MR");

  // Without a purpose (the main AE title): no fee.
  const ToolResult plain = MoveStudy(archive, archive.ae_title(), studies.mr);
  CHECK(Completed(plain) == 2);
  CHECK(archive.sql().Count("SELECT count(*) FROM fee_events") == 3);
}

TEST_CASE("a referral purpose receives downscaled derived images of its modalities only",
          "[purpose]") {
  TempDir data("hokan-it-purpose-referral");
  Destination destination;
  ArchiveProcess archive(PurposeOptions(destination.port()));
  AddPurposes(archive);
  const StoredStudies studies = StoreStudies(archive, data.path());
  std::set<std::string> originals;
  for (const auto& instance : studies.ct_instances) originals.insert(instance.sop_instance_uid);

  const ToolResult moved = MoveStudy(archive, "HOKAN_REF", studies.ct);
  INFO(moved.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(FinalStatus(moved) == 0x0000);
  CHECK(Completed(moved) == 3);
  auto received = destination.Received();
  REQUIRE(received.size() == 3);
  std::set<std::string> derived;
  for (const auto& file : received) {
    const ImageFacts facts = FactsOf(file);
    CHECK(facts.rows == 128);
    CHECK(facts.columns == 128);
    CHECK(originals.count(facts.sop_instance_uid) == 0);
    CHECK(originals.count(facts.source_uid) == 1);
    CHECK_THAT(facts.image_type, Catch::StartsWith("DERIVED\\SECONDARY"));
    derived.insert(facts.sop_instance_uid);
  }
  CHECK(derived.size() == 3);

  // A retry sends the same derived instances.
  destination.Clear();
  const ToolResult retry = MoveStudy(archive, "HOKAN_REF", studies.ct);
  CHECK(Completed(retry) == 3);
  std::set<std::string> again;
  for (const auto& file : destination.Received()) again.insert(FactsOf(file).sop_instance_uid);
  CHECK(again == derived);

  // MR and SR are outside the range: success, nothing sent, nothing charged.
  destination.Clear();
  for (const std::string& study : {studies.mr, studies.sr}) {
    const ToolResult outside = MoveStudy(archive, "HOKAN_REF", study);
    INFO(outside.Describe());
    CHECK(FinalStatus(outside) == 0x0000);
    CHECK(Completed(outside) == 0);
  }
  CHECK(destination.Received().empty());
  // A move of both studies moves the CT images only.
  const ToolResult both =
      Move(archive, "HOKAN_REF", {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + studies.ct +
                                                                 "\\" + studies.mr});
  CHECK(FinalStatus(both) == 0x0000);
  CHECK(Completed(both) == 3);
  CHECK(archive.sql().Count("SELECT count(*) FROM fee_events") == 1);
  CHECK(archive.sql().Value("SELECT amount_minor FROM fee_events") == "300");

  // C-GET under the referral purpose: derived images too.
  const fs::path got = data.path() / "got";
  fs::create_directories(got);
  const ToolResult get = RunTool({"getscu", "-d", "-S", "-to", "5", "-ta", "10", "-td", "60",
                                  "-aet", "IT_VIEWER", "-aec", "HOKAN_REF", "-od", got.string(),
                                  "-k", "QueryRetrieveLevel=STUDY", "-k",
                                  "StudyInstanceUID=" + studies.ct, "localhost",
                                  std::to_string(archive.port())});
  INFO(get.Describe());
  CHECK(FinalStatus(get) == 0x0000);
  std::set<std::string> got_uids;
  for (const auto& file : ListFilesRecursive(got)) {
    const ImageFacts facts = FactsOf(file);
    CHECK(facts.rows == 128);
    got_uids.insert(facts.sop_instance_uid);
  }
  CHECK(got_uids == derived);

  // C-FIND under the referral purpose lists the CT study only.
  const FindResult found = Find(archive, "IT_VIEWER", "HOKAN_REF",
                                {"QueryRetrieveLevel=STUDY", "StudyInstanceUID",
                                 "PatientID=PURPOSE1"},
                                DCM_StudyInstanceUID);
  INFO(found.tool.Describe());
  CHECK(found.values == std::vector<std::string>{studies.ct});
  const FindResult series = Find(archive, "IT_VIEWER", "HOKAN_REF",
                                 {"QueryRetrieveLevel=SERIES", "StudyInstanceUID=" + studies.mr,
                                  "SeriesInstanceUID"},
                                 DCM_SeriesInstanceUID);
  CHECK(series.values.empty());
  // The main AE title (no purpose bound) lists all three.
  const FindResult all = Find(archive, "IT_VIEWER", archive.ae_title(),
                              {"QueryRetrieveLevel=STUDY", "StudyInstanceUID"},
                              DCM_StudyInstanceUID);
  CHECK(all.values.size() == 3);
}

TEST_CASE("a research purpose without report rights gets no SR and may not store one",
          "[purpose]") {
  TempDir data("hokan-it-purpose-research");
  Destination destination;
  ArchiveProcess archive(PurposeOptions(destination.port()));
  AddPurposes(archive);
  const StoredStudies studies = StoreStudies(archive, data.path());

  const ToolResult research = MoveStudy(archive, "HOKAN_RES", studies.sr);
  INFO(research.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(FinalStatus(research) == 0x0000);
  CHECK(Completed(research) == 0);
  CHECK(destination.Received().empty());
  CHECK(archive.sql().Count("SELECT count(*) FROM fee_events") == 0);
  // Image-level C-FIND under research: no SR instance; under diagnosis: one.
  const std::vector<std::string> image_keys = {
      "QueryRetrieveLevel=IMAGE", "StudyInstanceUID=" + studies.sr,
      "SeriesInstanceUID", "SOPInstanceUID"};
  CHECK(Find(archive, "IT_VIEWER", "HOKAN_RES", image_keys, DCM_SOPInstanceUID).values.empty());
  CHECK(Find(archive, "IT_VIEWER", "HOKAN_DX", image_keys, DCM_SOPInstanceUID).values.size() ==
        1);
  // Counts and ModalitiesInStudy under a purpose cover only what it may
  // retrieve: the SR study is listed (research takes every modality) but
  // holds nothing research may get.
  const std::vector<std::string> study_keys = {
      "QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + studies.sr,
      "NumberOfStudyRelatedInstances", "ModalitiesInStudy"};
  CHECK(Find(archive, "IT_VIEWER", "HOKAN_RES", study_keys, DCM_NumberOfStudyRelatedInstances)
            .values == std::vector<std::string>{"0"});
  CHECK(Find(archive, "IT_VIEWER", "HOKAN_RES", study_keys, DCM_ModalitiesInStudy).values ==
        std::vector<std::string>{""});
  CHECK(Find(archive, "IT_VIEWER", "HOKAN_DX", study_keys, DCM_NumberOfStudyRelatedInstances)
            .values == std::vector<std::string>{"1"});
  CHECK(Find(archive, "IT_VIEWER", "HOKAN_DX", study_keys, DCM_ModalitiesInStudy).values ==
        std::vector<std::string>{"SR"});

  const ToolResult diagnosis = MoveStudy(archive, "HOKAN_DX", studies.sr);
  CHECK(Completed(diagnosis) == 1);
  CHECK(destination.Received().size() == 1);

  // Storing a report under a purpose without may_store_reports: 0x0124.
  archive.sql().Execute(
      "INSERT INTO purpose_grants (purpose_id, facility_id, ae_title, granted_at) "
      "SELECT p.id, e.facility_id, e.ae_title, $1 FROM purposes p, application_entities e "
      " WHERE p.name = 'research' AND e.ae_title = 'IT_MODALITY' AND e.role <> 'destination'",
      {archive.ClockNow()});
  const ToolResult stored = RunTool(
      {"storescu", "-d", "-aet", "IT_MODALITY", "-aec", "HOKAN_RES", "localhost",
       std::to_string(archive.port()),
       (PydicomDataDir() / "test_files" / "test-SR.dcm").string()});
  INFO(stored.Describe());
  const auto statuses = DimseStatusesFromDebugOutput(stored.output);
  REQUIRE_FALSE(statuses.empty());
  CHECK(statuses.back() == 0x0124);
}

TEST_CASE("a lossy-only purpose sends JPEG-LS near-lossless copies, or fails the instance",
          "[purpose]") {
  TempDir data("hokan-it-purpose-lossy");
  Destination uncompressed_only;             // storescp's default syntaxes
  Destination accepts_all({"+xa"});          // every syntax storescp supports
  ArchiveOptions options = PurposeOptions(uncompressed_only.port());
  options.extra_facility_lines = {"move_destinations = IT_VIEWER@127.0.0.1:" +
                                  std::to_string(uncompressed_only.port()) +
                                  ", IT_LOSSY@127.0.0.1:" + std::to_string(accepts_all.port())};
  ArchiveProcess archive(options);
  archive.sql().Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, pixel_rights, created_at, "
      "                      updated_at) "
      "VALUES ('teaching', 'HOKAN_EDU', '{CT}', 'lossy_only', $1, $1)",
      {archive.ClockNow()});
  archive.sql().Execute(
      "INSERT INTO purpose_grants (purpose_id, facility_id, ae_title, granted_at) "
      "SELECT p.id, e.facility_id, e.ae_title, $1 FROM purposes p, application_entities e "
      " WHERE e.ae_title = 'IT_VIEWER' AND e.role <> 'destination'",
      {archive.ClockNow()});
  const auto ct = MakeStudy(data.path() / "ct", {"--count", "2", "--modality", "CT"});
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "ct").string()}).exit_code ==
          0);
  const std::string study_uid = archive.sql().Value("SELECT study_instance_uid FROM studies");

  const ToolResult lossy = Move(archive, "HOKAN_EDU",
                                {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study_uid},
                                "IT_LOSSY");
  INFO(lossy.Describe() << "\narchive log:\n" << archive.Log());
  CHECK(FinalStatus(lossy) == 0x0000);
  CHECK(Completed(lossy) == 2);
  const auto received = accepts_all.Received();
  REQUIRE(received.size() == 2);
  for (const auto& file : received) {
    DcmFileFormat format;
    REQUIRE(format.loadFile(file.c_str()).good());
    OFString value;
    format.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, value);
    CHECK(value == "1.2.840.10008.1.2.4.81");  // JPEG-LS near-lossless
    format.getDataset()->findAndGetOFString(DCM_LossyImageCompression, value);
    CHECK(value == "01");
    CHECK(FactsOf(file).image_type.rfind("DERIVED", 0) == 0);
  }

  const ToolResult refused = Move(archive, "HOKAN_EDU",
                                  {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study_uid});
  INFO(refused.Describe());
  CHECK(FinalStatus(refused) == 0xA702);  // every sub-operation failed
  CHECK(uncompressed_only.Received().empty());
  CHECK_THAT(archive.Log(), Catch::Contains("did not accept JPEG-LS Lossy"));
}

TEST_CASE("a caller not granted a purpose is rejected at association", "[purpose]") {
  Destination destination;
  ArchiveProcess archive(PurposeOptions(destination.port()));
  AddPurposes(archive);

  CHECK(archive.Echo("IT_VIEWER", "HOKAN_DX").exit_code == 0);
  const ToolResult refused = archive.Echo("IT_OTHER", "HOKAN_DX");
  INFO(refused.Describe());
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.output, Catch::Contains("Calling AE Title Not Recognized"));
  CHECK(WaitUntil(
      [&] {
        return archive.Log().find("is not granted purpose 'diagnosis'") != std::string::npos;
      },
      10s, 50ms));
  // Neither a purpose's nor ours: called AE title not recognized.
  CHECK(archive.Echo("IT_VIEWER", "NOBODY").exit_code != 0);

  // A purpose bound to the main AE title: callers granted it retrieve under
  // it; others may still store, but not query or retrieve.
  archive.sql().Execute(
      "INSERT INTO purposes (name, called_ae_title, modalities, created_at, updated_at) "
      "VALUES ('main', $1, '{CT}', $2, $2)",
      {archive.ae_title(), archive.ClockNow()});
  archive.sql().Execute(
      "INSERT INTO purpose_grants (purpose_id, facility_id, ae_title, granted_at) "
      "SELECT p.id, e.facility_id, e.ae_title, $1 FROM purposes p, application_entities e "
      " WHERE p.name = 'main' AND e.ae_title = 'IT_VIEWER' AND e.role <> 'destination'",
      {archive.ClockNow()});
  TempDir data("hokan-it-purpose-main");
  MakeStudy(data.path() / "ct", {"--count", "1", "--modality", "CT"});
  REQUIRE(archive.StoreScu("IT_MODALITY", {"+sd"}, {(data.path() / "ct").string()}).exit_code ==
          0);
  const std::vector<std::string> keys = {"QueryRetrieveLevel=STUDY", "StudyInstanceUID"};
  const FindResult granted = Find(archive, "IT_VIEWER", archive.ae_title(), keys,
                                  DCM_StudyInstanceUID);
  INFO(granted.tool.Describe());
  CHECK(granted.values.size() == 1);
  const FindResult other = Find(archive, "IT_OTHER", archive.ae_title(), keys,
                                DCM_StudyInstanceUID);
  INFO(other.tool.Describe());
  CHECK(other.values.empty());
  CHECK(FinalStatus(other.tool) == 0x0124);
}

}  // namespace hokan::integration
