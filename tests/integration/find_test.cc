// C-FIND against a real archive with DCMTK's findscu: matching at each
// level and model, facility scoping, character sets, cancel and bad input.
// Responses are extracted by findscu (-X) and read back with DCMTK.

#include "dcmtk/config/osconfig.h"  // must come first

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcsequen.h"

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"

namespace hokan::integration {
namespace {

// What findscu received: each response's attributes (raw bytes, keyed by
// "gggg,eeee" in lower case) and the final status.
struct FindOutcome {
  std::vector<std::map<std::string, std::string>> responses;
  std::optional<std::uint16_t> final_status;
  ToolResult tool;
};

std::string TagText(const DcmTagKey& key) {
  char tag[16];
  std::snprintf(tag, sizeof tag, "%04x,%04x", key.getGroup(), key.getElement());
  return tag;
}

std::string ValueText(DcmElement& element) {
  OFString value;
  element.getOFStringArray(value);
  return std::string(value.c_str(), value.length());
}

FindOutcome RunFind(const ArchiveProcess& archive, const std::string& calling_ae,
                    const std::string& model_flag, const std::vector<std::string>& keys,
                    const std::vector<std::string>& extra = {}) {
  TempDir out("hokan-it-find");
  std::vector<std::string> argv = {"findscu", "-d", model_flag, "-X", "-od", out.path().string(),
                                   "-to", "5", "-ta", "10", "-td", "30", "-aet", calling_ae,
                                   "-aec", archive.ae_title()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  for (const auto& key : keys) {
    argv.push_back("-k");
    argv.push_back(key);
  }
  argv.push_back("localhost");
  argv.push_back(std::to_string(archive.port()));
  FindOutcome outcome;
  outcome.tool = RunTool(argv);
  const auto statuses = DimseStatusesFromDebugOutput(outcome.tool.output);
  if (!statuses.empty()) outcome.final_status = statuses.back();
  std::vector<fs::path> files = ListFilesRecursive(out.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    DcmFileFormat format;
    REQUIRE(format.loadFile(file.c_str()).good());
    std::map<std::string, std::string> attributes;
    DcmDataset* data_set = format.getDataset();
    for (unsigned long i = 0; i < data_set->card(); ++i) {
      DcmElement* element = data_set->getElement(i);
      const std::string tag = TagText(element->getTag());
      attributes[tag] = ValueText(*element);
      if (element->ident() != EVR_SQ) continue;
      // Items as "gggg,eeee[n].gggg,eeee"; the sequence itself holds its item count.
      auto& sequence = static_cast<DcmSequenceOfItems&>(*element);
      attributes[tag] = std::to_string(sequence.card());
      for (unsigned long n = 0; n < sequence.card(); ++n) {
        DcmItem* item = sequence.getItem(n);
        for (unsigned long j = 0; j < item->card(); ++j) {
          DcmElement* sub_element = item->getElement(j);
          attributes[tag + "[" + std::to_string(n) + "]." + TagText(sub_element->getTag())] =
              ValueText(*sub_element);
        }
      }
    }
    outcome.responses.push_back(std::move(attributes));
  }
  return outcome;
}

std::set<std::string> Values(const FindOutcome& outcome, const std::string& tag) {
  std::set<std::string> values;
  for (const auto& response : outcome.responses) {
    const auto found = response.find(tag);
    values.insert(found == response.end() ? "<absent>" : found->second);
  }
  return values;
}

ArchiveOptions TwoFacilities() {
  ArchiveOptions options;
  options.facilities = {{"east", {"EAST_MODALITY"}, {}, {"EAST_VIEWER"}},
                        {"west", {"WEST_MODALITY"}, {}, {"WEST_VIEWER"}}};
  return options;
}

}  // namespace

TEST_CASE("C-FIND matches at study, series and image level within the caller's facility",
          "[find]") {
  TempDir data("hokan-it-find-data");
  auto east_study = MakeStudy(data.path() / "east",
                              {"--count", "6", "--series-count", "2", "--patient-id", "P-100",
                               "--patient-name", "Doe^Jane", "--modality", "MR"});
  auto west_study = MakeStudy(data.path() / "west",
                              {"--count", "2", "--patient-id", "P-100", "--patient-name",
                               "Doe^Jane"});
  ArchiveProcess archive(TwoFacilities());
  REQUIRE(archive.StoreScu("EAST_MODALITY", {"+sd"}, {(data.path() / "east").string()})
              .exit_code == 0);
  REQUIRE(archive.StoreScu("WEST_MODALITY", {"+sd"}, {(data.path() / "west").string()})
              .exit_code == 0);
  const std::string study_uid = archive.sql().Value(
      "SELECT study_instance_uid FROM studies s JOIN facilities f ON f.id = s.facility_id "
      "WHERE f.name = 'east'");

  SECTION("study level by exact Patient ID: one study, exactly the requested keys") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S",
                               {"QueryRetrieveLevel=STUDY", "PatientID=P-100", "PatientName",
                                "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
                                "NumberOfStudyRelatedSeries"});
    INFO(found.tool.Describe());
    CHECK(found.final_status == 0x0000);
    REQUIRE(found.responses.size() == 1);
    const auto& response = found.responses[0];
    CHECK(response.at("0020,000d") == study_uid);  // unique key added
    CHECK(response.at("0010,0020") == "P-100");
    CHECK(response.at("0010,0010") == "Doe^Jane");
    CHECK(response.at("0008,0061") == "MR");
    CHECK(response.at("0020,1208") == "6");
    CHECK(response.at("0020,1206") == "2");
    CHECK(response.at("0008,0052") == "STUDY");
    std::set<std::string> tags;
    for (const auto& [tag, value] : response) tags.insert(tag);
    CHECK(tags == std::set<std::string>{"0008,0052", "0010,0010", "0010,0020", "0008,0061",
                                        "0020,1208", "0020,1206", "0020,000d"});
  }
  SECTION("person names match case-insensitively with wildcards") {
    for (const char* pattern : {"PatientName=doe*", "PatientName=D?E^JANE", "PatientName=*jane"}) {
      const auto found = RunFind(archive, "EAST_VIEWER", "-S",
                                 {"QueryRetrieveLevel=STUDY", pattern, "StudyInstanceUID"});
      INFO(pattern << "\n" << found.tool.Describe());
      CHECK(found.final_status == 0x0000);
      CHECK(Values(found, "0020,000d") == std::set<std::string>{study_uid});
    }
  }
  SECTION("series and image level inside the study") {
    const auto series = RunFind(archive, "EAST_VIEWER", "-S",
                                {"QueryRetrieveLevel=SERIES", "StudyInstanceUID=" + study_uid,
                                 "SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances"});
    INFO(series.tool.Describe());
    REQUIRE(series.responses.size() == 2);
    CHECK(Values(series, "0008,0060") == std::set<std::string>{"MR"});
    CHECK(Values(series, "0020,1209") == std::set<std::string>{"3"});
    const std::string series_uid = series.responses[0].at("0020,000e");
    const auto images = RunFind(archive, "EAST_VIEWER", "-S",
                                {"QueryRetrieveLevel=IMAGE", "StudyInstanceUID=" + study_uid,
                                 "SeriesInstanceUID=" + series_uid, "SOPInstanceUID",
                                 "InstanceNumber"});
    INFO(images.tool.Describe());
    CHECK(images.final_status == 0x0000);
    CHECK(images.responses.size() == 3);
  }
  SECTION("patient root, patient level") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-P",
                               {"QueryRetrieveLevel=PATIENT", "PatientID=P-100", "PatientName",
                                "NumberOfPatientRelatedStudies"});
    INFO(found.tool.Describe());
    CHECK(found.final_status == 0x0000);
    REQUIRE(found.responses.size() == 1);
    CHECK(found.responses[0].at("0020,1200") == "1");
  }
  SECTION("another facility's viewer sees only its own study") {
    const auto found = RunFind(archive, "WEST_VIEWER", "-S",
                               {"QueryRetrieveLevel=STUDY", "PatientID=P-100", "StudyInstanceUID"});
    INFO(found.tool.Describe());
    REQUIRE(found.responses.size() == 1);
    CHECK(found.responses[0].at("0020,000d") != study_uid);
  }
  SECTION("a sharing grant lets another facility find one patient, until revoked") {
    auto west_sees = [&] {
      const auto found = RunFind(archive, "WEST_VIEWER", "-S",
                                 {"QueryRetrieveLevel=STUDY", "PatientID=P-100",
                                  "StudyInstanceUID"});
      INFO(found.tool.Describe());
      CHECK(found.final_status == 0x0000);
      return Values(found, "0020,000d");
    };
    const auto own = west_sees();
    REQUIRE(own.size() == 1);
    auto admin = [&](const std::vector<std::string>& arguments) {
      std::vector<std::string> argv = {HOKAN_ADMIN_BINARY, "--database-url",
                                       archive.database_url()};
      argv.insert(argv.end(), arguments.begin(), arguments.end());
      return RunTool(argv);
    };
    const ToolResult granted = admin({"grant", "add", "--owner", "east", "--grantee", "west",
                                      "--patient-id", "P-100", "--reason", "referral"});
    INFO(granted.Describe());
    REQUIRE(granted.exit_code == 0);
    CHECK_THAT(granted.output, Catch::Contains("east shares patient 'P-100' with west"));
    auto both = own;
    both.insert(study_uid);
    CHECK(west_sees() == both);
    // A grant for another patient, or in the other direction, shows nothing more.
    CHECK(admin({"grant", "add", "--owner", "east", "--grantee", "west", "--patient-id",
                 "P-100"}).exit_code == 2);
    const std::string grant_id = archive.sql().Value(
        "SELECT id FROM sharing_grants WHERE revoked_at IS NULL");
    CHECK(admin({"grant", "revoke", grant_id}).exit_code == 0);
    CHECK(west_sees() == own);
    const ToolResult listed = admin({"grant", "list", "--all"});
    CHECK_THAT(listed.output, Catch::Contains("P-100"));
  }
  SECTION("a query-only AE may not store: no storage context is accepted") {
    const ToolResult store =
        archive.StoreScu("EAST_VIEWER", {"-d"}, {east_study[0].path.string()});
    INFO(store.Describe());
    CHECK(store.exit_code != 0);
    CHECK(DimseStatusesFromDebugOutput(store.output).empty());
    CHECK_THAT(store.output, Catch::Contains("Association Rejected"));
  }
}

TEST_CASE("sequence keys match one item and return the matching items", "[find]") {
  TempDir data("hokan-it-find-sequence");
  const auto chest = MakeStudy(data.path() / "chest", {"--count", "1", "--patient-id", "P-SQ"});
  const auto head = MakeStudy(data.path() / "head", {"--count", "1", "--patient-id", "P-SQ"});
  // Procedure codes and request attributes added with DCMTK's dcmodify.
  auto modify = [](const fs::path& file, const std::vector<std::string>& inserts) {
    std::vector<std::string> argv = {"dcmodify", "-nb"};
    for (const auto& insert : inserts) {
      argv.push_back("-i");
      argv.push_back(insert);
    }
    argv.push_back(file.string());
    const ToolResult result = RunTool(argv);
    INFO(result.Describe());
    REQUIRE(result.exit_code == 0);
  };
  modify(chest[0].path, {"(0008,1032)[0].(0008,0100)=RPID17",
                         "(0008,1032)[0].(0008,0102)=RADLEX",
                         "(0008,1032)[0].(0008,0104)=CT chest",
                         "(0008,1032)[1].(0008,0100)=RPID99",
                         "(0008,1032)[1].(0008,0102)=LOCAL",
                         "(0008,1032)[1].(0008,0104)=Chest survey",
                         "(0040,0275)[0].(0040,1001)=REQ-1",
                         "(0040,0275)[0].(0008,0050)=ACC-1"});
  modify(head[0].path, {"(0008,1032)[0].(0008,0100)=RPID22",
                        "(0008,1032)[0].(0008,0102)=RADLEX",
                        "(0008,1032)[0].(0008,0104)=CT head"});
  ArchiveOptions options;
  options.facilities = {{"east", {"EAST_MODALITY"}, {}, {"EAST_VIEWER"}}};
  ArchiveProcess archive(options);
  REQUIRE(archive.StoreScu("EAST_MODALITY", {"+sd", "+r"}, {data.path().string()}).exit_code ==
          0);

  SECTION("one item's sub-keys must all match the same stored item") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S",
                               {"QueryRetrieveLevel=STUDY",
                                "ProcedureCodeSequence[0].CodingSchemeDesignator=RADLEX",
                                "ProcedureCodeSequence[0].CodeMeaning=CT*",
                                "ProcedureCodeSequence[0].CodeValue"});
    INFO(found.tool.Describe());
    CHECK(found.final_status == 0x0000);
    REQUIRE(found.responses.size() == 2);
    for (const auto& response : found.responses) {
      CHECK(response.at("0008,1032") == "1");  // only the matching item
      CHECK(response.at("0008,1032[0].0008,0102") == "RADLEX");
    }
    CHECK(Values(found, "0008,1032[0].0008,0100") ==
          std::set<std::string>{"RPID17", "RPID22"});
    // LOCAL and "CT chest" are in the chest study, but not in one item.
    const auto crossed = RunFind(archive, "EAST_VIEWER", "-S",
                                 {"QueryRetrieveLevel=STUDY",
                                  "ProcedureCodeSequence[0].CodingSchemeDesignator=LOCAL",
                                  "ProcedureCodeSequence[0].CodeMeaning=CT chest"});
    INFO(crossed.tool.Describe());
    CHECK(crossed.final_status == 0x0000);
    CHECK(crossed.responses.empty());
  }
  SECTION("an exact code finds one study; an empty sequence returns every item") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S",
                               {"QueryRetrieveLevel=STUDY",
                                "ProcedureCodeSequence[0].CodeValue=RPID99"});
    INFO(found.tool.Describe());
    REQUIRE(found.responses.size() == 1);
    CHECK(found.responses[0].at("0008,1032[0].0008,0100") == "RPID99");
    const std::string study_uid = found.responses[0].at("0020,000d");
    const auto all = RunFind(archive, "EAST_VIEWER", "-S",
                             {"QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study_uid,
                              "ProcedureCodeSequence"});
    INFO(all.tool.Describe());
    REQUIRE(all.responses.size() == 1);
    CHECK(all.responses[0].at("0008,1032") == "2");
    CHECK(all.responses[0].at("0008,1032[1].0008,0104") == "Chest survey");
    CHECK(all.responses[0].at("0008,1032[1].0008,0102") == "LOCAL");
  }
  SECTION("series level: request attributes") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S",
                               {"QueryRetrieveLevel=SERIES",
                                "RequestAttributesSequence[0].RequestedProcedureID=REQ-1",
                                "RequestAttributesSequence[0].AccessionNumber"});
    INFO(found.tool.Describe());
    REQUIRE(found.responses.size() == 1);
    CHECK(found.responses[0].at("0040,0275[0].0008,0050") == "ACC-1");
  }
  SECTION("two items in a sequence key are refused") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S",
                               {"QueryRetrieveLevel=STUDY",
                                "ProcedureCodeSequence[0].CodeValue=RPID17",
                                "ProcedureCodeSequence[1].CodeValue=RPID22"});
    INFO(found.tool.Describe());
    CHECK(found.final_status == 0xA900);
    CHECK_THAT(archive.Log(), Catch::Contains("sequence matching takes one item"));
  }
}

TEST_CASE("bad C-FIND identifiers get a failure status and the archive keeps serving",
          "[find]") {
  ArchiveProcess archive(TwoFacilities());
  struct Case {
    std::vector<std::string> keys;
    std::uint16_t expected;
    std::size_t matches;
  };
  const std::string long_name = "PatientName=" + std::string(64 * 1024, 'A');
  const Case cases[] = {
      {{"PatientName", "StudyInstanceUID"}, 0xA900, 0},                       // no level
      {{"QueryRetrieveLevel=FRAME", "StudyInstanceUID"}, 0xA900, 0},        // unknown level
      {{"QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2.*"}, 0xA900, 0},  // wildcard UID
      {{"QueryRetrieveLevel=STUDY", "StudyDate=20260101-20250101"}, 0xA900, 0},
      {{"QueryRetrieveLevel=STUDY", "PatientName=O'Brien%_\\\\x*"}, 0x0000, 0},
      {{"QueryRetrieveLevel=STUDY", "PatientID=1' OR '1'='1"}, 0x0000, 0},
      {{"QueryRetrieveLevel=STUDY", long_name}, 0xA900, 0},
  };
  for (const auto& c : cases) {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S", c.keys);
    INFO(found.tool.Describe().substr(0, 4000));
    CHECK(found.final_status == c.expected);
    CHECK(found.responses.size() == c.matches);
  }
  CHECK(archive.Echo("EAST_VIEWER").exit_code == 0);
}

// The archive sends pending responses in batches (TCP_CORK, 16 a batch):
// a result of many batches must arrive whole and in order, and a C-CANCEL
// sent after the first responses must still stop it. The index rows beyond
// the one stored instance are copies of its row (C-FIND reads no file).
TEST_CASE("a large C-FIND result arrives whole and in order, and C-CANCEL stops it",
          "[find]") {
  constexpr int kMatches = 2000;
  TempDir data("hokan-it-find-large");
  MakeStudy(data.path() / "one", {"--count", "1", "--patient-id", "P-LARGE"});
  ArchiveProcess archive(TwoFacilities());
  REQUIRE(archive.StoreScu("EAST_MODALITY", {"+sd"}, {(data.path() / "one").string()})
              .exit_code == 0);
  archive.sql().Execute(
      "INSERT INTO instances (facility_id, series_fk, sop_instance_uid, sop_class_uid,"
      " instance_number, rows, columns, specific_character_set, transfer_syntax_uid,"
      " relative_path, size_bytes, checksum_sha256, received_at, calling_ae)"
      " SELECT i.facility_id, i.series_fk, i.sop_instance_uid || '.' || n, i.sop_class_uid,"
      " n, i.rows, i.columns, i.specific_character_set, i.transfer_syntax_uid,"
      " i.relative_path || '.' || n, i.size_bytes, i.checksum_sha256, i.received_at, i.calling_ae"
      " FROM instances i, generate_series(2, $1::integer) AS n",
      {std::to_string(kMatches)});
  const std::string series_uid = archive.sql().Value("SELECT series_instance_uid FROM series");
  const std::vector<std::string> keys = {"QueryRetrieveLevel=IMAGE",
                                         "SeriesInstanceUID=" + series_uid, "SOPInstanceUID",
                                         "InstanceNumber"};

  SECTION("every match, in the index's order") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S", keys);
    INFO(found.tool.Describe().substr(0, 4000));
    CHECK(found.final_status == 0x0000);
    REQUIRE(found.responses.size() == kMatches);
    // findscu numbers its files in arrival order; the archive sends by row id,
    // i.e. the stored instance, then the copies 2, 3, ...
    std::map<int, std::string> numbers;  // file order -> InstanceNumber
    for (std::size_t n = 0; n < found.responses.size(); ++n) {
      numbers[static_cast<int>(n)] = found.responses[n].at("0020,0013");
    }
    for (int n = 1; n < kMatches; ++n) CHECK(numbers[n] == std::to_string(n + 1));
  }
  SECTION("a C-CANCEL after 5 responses ends it with status Cancel") {
    const auto found = RunFind(archive, "EAST_VIEWER", "-S", keys, {"--cancel", "5"});
    INFO(found.tool.Describe().substr(0, 4000));
    CHECK(found.final_status == 0xFE00);
    CHECK(found.responses.size() >= 5);
    CHECK(found.responses.size() < kMatches);
  }
}

TEST_CASE("names in pydicom's character-set files are found by exact and wildcard PatientName",
          "[find][charset]") {
  ArchiveOptions options;
  options.facilities = {{"world", {"WORLD_MODALITY"}, {}, {"WORLD_VIEWER"}}};
  ArchiveProcess archive(options);
  const fs::path charset_files = PydicomDataDir() / "charset_files";
  for (const auto& file : fs::directory_iterator(charset_files)) {
    // Files without SOP UIDs, or sharing one with another file, are refused: fine here.
    archive.StoreScu("WORLD_MODALITY", {}, {file.path().string()});
  }
  REQUIRE(archive.sql().Count("SELECT count(*) FROM patients") >= 12);

  struct Case {
    std::string name;
    std::set<std::string> patient_ids;
  };
  const Case cases[] = {
      {"Yamada^Tarou", {"H31EXAMPLE"}},
      {"山田^太郎", {"H31EXAMPLE", "H32EXAMPLE"}},
      {"Yamada^Tarou=山田^太郎=やまだ^たろう", {"H31EXAMPLE"}},
      {"やまだ*", {"H31EXAMPLE", "H32EXAMPLE", "2008-4"}},
      {"ﾔﾏﾀﾞ*", {"H32EXAMPLE"}},
      {"홍^길동", {"I2EXAMPLE"}},
      {"김*", {"2008-3"}},
      {"Διον*", {"SCSGREEK"}},
      {"Люк*", {"SCSRUSS"}},
      {"قباني*", {"SCSARAB"}},
      {"שרון*", {"SCSHBRW"}},
      {"王^小東", {"X1EXAMPLE"}},
      {"王*", {"X1EXAMPLE", "X2EXAMPLE"}},
      {"buc^jérôme", {"SCSFREN"}},
      {"äneas*", {"SCSGERM"}},
  };
  for (const auto& c : cases) {
    const auto found = RunFind(archive, "WORLD_VIEWER", "-S",
                               {"SpecificCharacterSet=ISO_IR 192", "QueryRetrieveLevel=STUDY",
                                "PatientName=" + c.name, "PatientID"});
    INFO(c.name << "\n" << found.tool.Describe());
    CHECK(found.final_status == 0x0000);
    CHECK(Values(found, "0010,0020") == c.patient_ids);
  }

  // A query in ISO 2022 IR 87 with the file's own bytes finds it, and the
  // answer comes back in that character set, byte for byte.
  DcmFileFormat japanese;
  REQUIRE(japanese.loadFile((charset_files / "chrH31.dcm").c_str()).good());
  OFString raw_name;
  REQUIRE(japanese.getDataset()->findAndGetOFStringArray(DCM_PatientName, raw_name).good());
  const std::string name(raw_name.c_str(), raw_name.length());
  const auto found = RunFind(archive, "WORLD_VIEWER", "-S",
                             {"SpecificCharacterSet=\\ISO 2022 IR 87",
                              "QueryRetrieveLevel=STUDY", "PatientName=" + name, "PatientID"});
  INFO(found.tool.Describe());
  CHECK(found.final_status == 0x0000);
  REQUIRE(found.responses.size() == 1);
  CHECK(found.responses[0].at("0010,0020") == "H31EXAMPLE");
  CHECK(found.responses[0].at("0010,0010") == name);
  CHECK(found.responses[0].at("0008,0005") == "\\ISO 2022 IR 87");

  // In the default repertoire, a name it cannot express comes back in
  // ISO_IR 192 and the others in the query's: one C-FIND's answers switch
  // between both (the archive reuses one data set for the latter).
  TempDir ascii("hokan-it-find-ascii");
  MakeStudy(ascii.path(), {"--count", "1", "--patient-id", "ASCII-1", "--patient-name",
                           "Doe^John"});
  REQUIRE(archive.StoreScu("WORLD_MODALITY", {"+sd"}, {ascii.path().string()}).exit_code == 0);
  const auto all = RunFind(archive, "WORLD_VIEWER", "-S",
                           {"QueryRetrieveLevel=STUDY", "PatientName", "PatientID"});
  INFO(all.tool.Describe().substr(0, 4000));
  CHECK(all.final_status == 0x0000);
  CHECK(static_cast<std::int64_t>(all.responses.size()) ==
        archive.sql().Count("SELECT count(*) FROM studies"));
  std::size_t in_utf8 = 0;
  for (const auto& response : all.responses) {
    const std::string& name = response.at("0010,0010");
    INFO(name);
    const bool ascii = std::all_of(name.begin(), name.end(),
                                   [](unsigned char c) { return c < 0x80; });
    const auto character_set = response.find("0008,0005");
    if (character_set == response.end()) {
      CHECK(ascii);
    } else {
      CHECK(character_set->second == "ISO_IR 192");
      CHECK_FALSE(ascii);
      ++in_utf8;
    }
  }
  CHECK(in_utf8 > 0);
  CHECK(in_utf8 < all.responses.size());
}

}  // namespace hokan::integration
