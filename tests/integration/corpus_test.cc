// Every file of pydicom's test corpus (test_files/ and charset_files/, the
// top-level files; the DICOMDIR tree test_files/dicomdirtests/ is not part
// of it) sent to the archive with storescu, one storescu run per file.
//
// How each file is sent: storescu -xf <profile> ONLY, a profile with one
// presentation context, the file's SOP Class with the file's own transfer
// syntax (as tests/data/describe_dicom.py reads them), so storescu never
// converts: the archive receives the data set in the encoding it has in the
// file. Files in which pydicom finds no SOP Class are sent with storescu -R
// (propose only the SOP Classes found in the files), which makes storescu
// check its input before associating. Each file is sent with its own calling AE title, of its own
// facility, because several corpus files share a SOP Instance UID with different content
// (MR_small*.dcm, rtdose*.dcm, ...): in one facility the second would rightly be refused as a
// different-content duplicate (0xC010), which is tested on its own in duplicate_test.cc.
//
// What the archive must store: the data set exactly as storescu sent it.
// storescu re-encodes what it reads (it drops Data Set Trailing Padding
// (FFFC,FFFC), writes sequences and items with explicit lengths, recomputes
// group length elements that are wrong in the file: 23 of the
// 71 sendable files arrive different from their on-disk data set), so the
// reference is DCMTK's own bit-preserving receiver: each file is first sent
// the same way to `storescp +B -F +xa -pm` (writes the received data set,
// without meta header, exactly as received), and the archive's stored file,
// minus its meta header, must equal that byte for byte.
//
// The expected outcome of every file is in kCorpus below, determined by
// experiment (pydicom 2.3.1, DCMTK 3.6.7). Files that storescu itself
// cannot read or cannot find SOP Class/Instance UIDs in are refused at the
// client side: storescu exits 1 without sending any C-STORE request (with
// -R it refuses before associating; with -xf it associates first, then
// fails reading the file and aborts the association), so nothing reaches
// the archive but an aborted, empty association.

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "tests/integration/archive_process.h"
#include "tests/integration/dicom_tools.h"
#include "tests/integration/dicom_wire.h"

namespace hokan::integration {
namespace {

enum class Expect {
  kStored,             // archive answers Success; row + byte-identical file
  kRefusedByStorescu,  // storescu refuses before any C-STORE request (exit 1)
};

struct CorpusCase {
  const char* file;  // relative to pydicom's data directory
  Expect expect;
  const char* evidence;  // for kRefusedByStorescu: what storescu prints
  const char* why;
};

// What storescu prints when it refuses a file, by how the file is sent:
// with the file's own profile (-xf, when describe_dicom.py found a SOP Class
// and transfer syntax) it fails reading the file or finding its UIDs ...
constexpr const char* kBadFile = "Bad DICOM file";
constexpr const char* kNoUids = "No SOP Class or Instance UID in file";
// ... and with -R (propose only the files' own SOP Classes, used when pydicom
// found none) its input check refuses the file before associating.
constexpr const char* kUnreadable = "missing SOP class (or instance) in file";

// clang-format off
const CorpusCase kCorpus[] = {
  {"test_files/693_J2KI.dcm", Expect::kStored, "", "JPEG 2000; storescu fixes a group length, makes sequence lengths explicit"},
  {"test_files/CT_small.dcm", Expect::kStored, "", "explicit LE; storescu drops trailing padding"},
  {"test_files/ExplVR_BigEnd.dcm", Expect::kStored, "", "explicit big endian"},
  {"test_files/ExplVR_BigEndNoMeta.dcm", Expect::kStored, "", "no meta header; storescu detects explicit BE"},
  {"test_files/ExplVR_LitEndNoMeta.dcm", Expect::kStored, "", "no meta header; storescu detects explicit LE"},
  {"test_files/GDCMJ2K_TextGBR.dcm", Expect::kStored, "", "JPEG 2000 lossless, GB18030 text"},
  {"test_files/J2K_pixelrep_mismatch.dcm", Expect::kStored, "", "JPEG 2000 lossless"},
  {"test_files/JPEG-lossy.dcm", Expect::kStored, "", "JPEG extended"},
  {"test_files/JPEG2000-embedded-sequence-delimiter.dcm", Expect::kStored, "", "JPEG 2000"},
  {"test_files/JPEG2000.dcm", Expect::kStored, "", "JPEG 2000"},
  {"test_files/JPGExtended.dcm", Expect::kStored, "", "JPEG extended"},
  {"test_files/MR_small.dcm", Expect::kStored, "", "explicit LE"},
  {"test_files/MR_small_RLE.dcm", Expect::kStored, "", "RLE lossless"},
  {"test_files/MR_small_bigendian.dcm", Expect::kStored, "", "explicit big endian"},
  {"test_files/MR_small_expb.dcm", Expect::kStored, "", "explicit big endian"},
  {"test_files/MR_small_implicit.dcm", Expect::kStored, "", "implicit LE"},
  {"test_files/MR_small_jp2klossless.dcm", Expect::kStored, "", "JPEG 2000 lossless"},
  {"test_files/MR_small_jpeg_ls_lossless.dcm", Expect::kStored, "", "JPEG-LS lossless"},
  {"test_files/MR_small_padded.dcm", Expect::kStored, "", "explicit LE with trailing padding"},
  {"test_files/MR_truncated.dcm", Expect::kRefusedByStorescu, kBadFile, "pixel data cut short: DCMTK cannot read the file"},
  {"test_files/README.txt", Expect::kRefusedByStorescu, kUnreadable, "not DICOM"},
  {"test_files/SC_jpeg_no_color_transform.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_jpeg_no_color_transform_2.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_dcmtk_+eb+cr.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_dcmtk_+eb+cy+n1.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_dcmtk_+eb+cy+n2.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_dcmtk_+eb+cy+np.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_dcmtk_+eb+cy+s2.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_dcmtk_+eb+cy+s4.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_gdcm_KY.dcm", Expect::kStored, "", "JPEG 2000"},
  {"test_files/SC_rgb_jpeg.dcm", Expect::kRefusedByStorescu, kBadFile, "meta says explicit VR, data set is implicit VR: DCMTK misreads it"},
  {"test_files/SC_rgb_jpeg_app14_dcmd.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_jpeg_dcmd.dcm", Expect::kStored, "", "implicit LE"},
  {"test_files/SC_rgb_jpeg_dcmtk.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_jpeg_gdcm.dcm", Expect::kStored, "", "JPEG lossless"},
  {"test_files/SC_rgb_jpeg_lossy_gdcm.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_rgb_rle.dcm", Expect::kStored, "", "RLE"},
  {"test_files/SC_rgb_rle_16bit.dcm", Expect::kStored, "", "RLE"},
  {"test_files/SC_rgb_rle_16bit_2frame.dcm", Expect::kStored, "", "RLE, 2 frames"},
  {"test_files/SC_rgb_rle_2frame.dcm", Expect::kStored, "", "RLE, 2 frames"},
  {"test_files/SC_rgb_rle_32bit.dcm", Expect::kStored, "", "RLE"},
  {"test_files/SC_rgb_rle_32bit_2frame.dcm", Expect::kStored, "", "RLE, 2 frames"},
  {"test_files/SC_rgb_small_odd.dcm", Expect::kStored, "", "explicit LE, odd dimensions"},
  {"test_files/SC_rgb_small_odd_jpeg.dcm", Expect::kStored, "", "JPEG baseline"},
  {"test_files/SC_ybr_full_422_uncompressed.dcm", Expect::kStored, "", "explicit LE"},
  {"test_files/UN_sequence.dcm", Expect::kRefusedByStorescu, kNoUids, "fragment without SOP Class/Instance UID"},
  {"test_files/badVR.dcm", Expect::kStored, "", "an element with a bad VR; DCMTK reads it"},
  {"test_files/empty_charset_LEI.dcm", Expect::kRefusedByStorescu, kUnreadable, "fragment without SOP Class/Instance UID"},
  {"test_files/image_dfl.dcm", Expect::kStored, "", "deflated explicit LE"},
  {"test_files/liver_1frame.dcm", Expect::kStored, "", "segmentation, explicit LE"},
  {"test_files/liver_expb_1frame.dcm", Expect::kStored, "", "segmentation, explicit BE"},
  {"test_files/meta_missing_tsyntax.dcm", Expect::kRefusedByStorescu, kUnreadable, "meta header without transfer syntax, no UIDs"},
  {"test_files/nested_priv_SQ.dcm", Expect::kRefusedByStorescu, kUnreadable, "fragment without SOP Class/Instance UID"},
  {"test_files/no_meta.dcm", Expect::kRefusedByStorescu, kUnreadable, "no meta header; DCMTK guesses the wrong encoding"},
  {"test_files/no_meta_group_length.dcm", Expect::kRefusedByStorescu, kNoUids, "fragment without SOP Class/Instance UID"},
  {"test_files/priv_SQ.dcm", Expect::kRefusedByStorescu, kNoUids, "fragment without SOP Class/Instance UID"},
  {"test_files/reportsi.dcm", Expect::kStored, "", "SR, explicit LE"},
  {"test_files/reportsi_with_empty_number_tags.dcm", Expect::kStored, "", "SR, explicit LE"},
  {"test_files/rtdose.dcm", Expect::kStored, "", "RT dose, implicit LE"},
  {"test_files/rtdose_1frame.dcm", Expect::kStored, "", "RT dose, implicit LE"},
  {"test_files/rtdose_expb.dcm", Expect::kStored, "", "RT dose, explicit BE"},
  {"test_files/rtdose_expb_1frame.dcm", Expect::kStored, "", "RT dose, explicit BE"},
  {"test_files/rtdose_rle.dcm", Expect::kRefusedByStorescu, kNoUids, "DCMTK does not find the UIDs (warns: odd-length OW pixel data)"},
  {"test_files/rtdose_rle_1frame.dcm", Expect::kRefusedByStorescu, kNoUids, "DCMTK does not find the UIDs (warns: odd-length OW pixel data)"},
  {"test_files/rtplan.dcm", Expect::kStored, "", "RT plan, implicit LE"},
  {"test_files/rtplan.dump", Expect::kRefusedByStorescu, kUnreadable, "text dump, not DICOM"},
  {"test_files/rtplan_truncated.dcm", Expect::kRefusedByStorescu, kBadFile, "cut short inside a sequence"},
  {"test_files/rtstruct.dcm", Expect::kStored, "", "RT struct, implicit LE, no SOP class in meta"},
  {"test_files/rtstruct.dump", Expect::kRefusedByStorescu, kUnreadable, "text dump, not DICOM"},
  {"test_files/test-SR.dcm", Expect::kStored, "", "SR, explicit LE"},
  {"test_files/test1.json", Expect::kRefusedByStorescu, kUnreadable, "DICOM JSON, not Part 10"},
  {"test_files/test_PN.json", Expect::kRefusedByStorescu, kUnreadable, "DICOM JSON, not Part 10"},
  {"test_files/waveform_ecg.dcm", Expect::kStored, "", "ECG waveform, explicit LE"},
  {"test_files/zipMR.gz", Expect::kRefusedByStorescu, kUnreadable, "gzip archive, not DICOM"},
  {"charset_files/FileInfo.txt", Expect::kRefusedByStorescu, kUnreadable, "not DICOM"},
  {"charset_files/chrArab.dcm", Expect::kStored, "", "ISO_IR 127"},
  {"charset_files/chrFren.dcm", Expect::kStored, "", "ISO_IR 100"},
  {"charset_files/chrFrenMulti.dcm", Expect::kStored, "", "ISO_IR 100, multi-valued"},
  {"charset_files/chrGerm.dcm", Expect::kStored, "", "ISO_IR 100"},
  {"charset_files/chrGreek.dcm", Expect::kStored, "", "ISO_IR 126"},
  {"charset_files/chrH31.dcm", Expect::kStored, "", "ISO 2022 IR 87"},
  {"charset_files/chrH32.dcm", Expect::kStored, "", "ISO 2022 IR 13/87"},
  {"charset_files/chrHbrw.dcm", Expect::kStored, "", "ISO_IR 138"},
  {"charset_files/chrI2.dcm", Expect::kStored, "", "ISO 2022 IR 149"},
  {"charset_files/chrJapMulti.dcm", Expect::kStored, "", "ISO 2022 IR 13/87; storescu fixes a group length"},
  {"charset_files/chrJapMultiExplicitIR6.dcm", Expect::kStored, "", "ISO 2022 IR 6/87"},
  {"charset_files/chrKoreanMulti.dcm", Expect::kStored, "", "ISO 2022 IR 149"},
  {"charset_files/chrRuss.dcm", Expect::kStored, "", "ISO_IR 144"},
  {"charset_files/chrSQEncoding.dcm", Expect::kRefusedByStorescu, kNoUids, "fragment without SOP Class/Instance UID"},
  {"charset_files/chrSQEncoding1.dcm", Expect::kRefusedByStorescu, kNoUids, "fragment without SOP Class/Instance UID"},
  {"charset_files/chrX1.dcm", Expect::kStored, "", "ISO_IR 192 (UTF-8)"},
  {"charset_files/chrX2.dcm", Expect::kStored, "", "GB18030"},
};
// clang-format on

std::vector<fs::path> CorpusFiles() {
  std::vector<fs::path> files;
  for (const char* dir : {"test_files", "charset_files"}) {
    for (const auto& entry : fs::directory_iterator(PydicomDataDir() / dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string RelativeName(const fs::path& file) {
  return file.parent_path().filename().string() + "/" + file.filename().string();
}

// storescp +B -F as the reference receiver, on a free port, ready when it
// answers echoscu.
class OracleScp {
 public:
  explicit OracleScp(const fs::path& work) : out_(work / "oracle") {
    fs::create_directories(out_);
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreeTcpPort();
      process_ = std::make_unique<BackgroundProcess>(
          std::vector<std::string>{"storescp", "+B", "-F", "+xa", "-pm", "-aet", "ORACLE", "-od",
                                   out_.string(), std::to_string(port_)},
          work / "oracle.log", work);
      bool ready = WaitUntil(
          [&] {
            return !process_->Running() || RunTool({"echoscu", "-to", "2", "-aec", "ORACLE",
                                                    "localhost", std::to_string(port_)},
                                                   {}, 10s)
                                                   .exit_code == 0;
          },
          30s, 50ms);
      if (ready && process_->Running()) return;
    }
    throw std::runtime_error("storescp (the reference receiver) did not start; log:\n" +
                             ReadFileBytes(work / "oracle.log"));
  }

  std::uint16_t port() const { return port_; }

  // The single data set received since the last call (and removes it), or
  // nullopt when none or more than one arrived.
  std::optional<std::string> TakeReceived() {
    auto files = ListFilesRecursive(out_);
    if (files.size() != 1) {
      for (const auto& f : files) fs::remove(f);
      return std::nullopt;
    }
    std::string bytes = ReadFileBytes(files[0]);
    fs::remove(files[0]);
    return bytes;
  }

 private:
  fs::path out_;
  std::uint16_t port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace

TEST_CASE("every pydicom corpus file is stored byte-identical or refused cleanly",
          "[store][corpus]") {
  const std::vector<fs::path> files = CorpusFiles();
  std::map<std::string, const CorpusCase*> cases;
  for (const auto& c : kCorpus) cases[c.file] = &c;

  // The table and the installed corpus must agree both ways.
  std::set<std::string> on_disk;
  for (const auto& file : files) {
    on_disk.insert(RelativeName(file));
    INFO("corpus file without an expectation in kCorpus: " << RelativeName(file));
    CHECK(cases.count(RelativeName(file)) == 1);
  }
  for (const auto& c : kCorpus) {
    INFO("kCorpus names a file that is not installed: " << c.file);
    CHECK(on_disk.count(c.file) == 1);
  }

  const std::vector<DicomDescription> descriptions = DescribeDicom(files);

  TempDir work("hokan-it-corpus");
  OracleScp oracle(work.path());

  ArchiveOptions options;
  for (std::size_t i = 0; i < files.size(); ++i) {
    options.facilities.push_back(
        {fmt::format("corpus_{:02}", i), {fmt::format("IT_C{:02}", i)}, {}, {}});
  }
  ArchiveProcess archive(options);

  int expected_rows = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path& file = files[i];
    const std::string name = RelativeName(file);
    if (cases.count(name) == 0) continue;  // reported above
    const CorpusCase& expected = *cases[name];
    const DicomDescription& description = descriptions[i];
    const std::string calling_ae = fmt::format("IT_C{:02}", i);
    const std::string facility = fmt::format("corpus_{:02}", i);
    INFO("corpus file " << name << " (" << expected.why << "), SOP class "
                        << description.sop_class_uid << ", transfer syntax "
                        << description.transfer_syntax_uid << ", calling AE " << calling_ae);

    std::vector<std::string> profile_options{"-R"};
    if (description.sop_class_uid != "-" && description.transfer_syntax_uid != "-") {
      const fs::path profile = work.path() / fmt::format("profile_{:02}.cfg", i);
      WriteSingleContextProfile(profile, description.sop_class_uid,
                                description.transfer_syntax_uid);
      profile_options = {"-xf", profile.string(), "ONLY"};
    }

    std::vector<std::string> archive_options = profile_options;
    archive_options.push_back("-v");
    ToolResult sent = archive.StoreScu(calling_ae, archive_options, {file.string()});
    INFO(sent.Describe());

    if (expected.expect == Expect::kRefusedByStorescu) {
      CHECK(sent.exit_code == 1);
      CHECK(sent.output.find(expected.evidence) != std::string::npos);
      CHECK(sent.output.find("Sending Store Request") == std::string::npos);
      CHECK(archive.sql().Count("SELECT count(*) FROM instances i JOIN facilities f ON "
                                "f.id = i.facility_id WHERE f.name = $1",
                                {facility}) == 0);
      continue;
    }

    ++expected_rows;
    CHECK(sent.exit_code == 0);
    CHECK(CountStoreSuccesses(sent.output) == 1);

    // What storescu really sends, per DCMTK's bit-preserving receiver.
    std::vector<std::string> oracle_argv{"storescu"};
    oracle_argv.insert(oracle_argv.end(), profile_options.begin(), profile_options.end());
    for (const std::string& arg :
         {std::string("-aec"), std::string("ORACLE"), std::string("localhost"),
          std::to_string(oracle.port()), file.string()}) {
      oracle_argv.push_back(arg);
    }
    ToolResult to_oracle = RunTool(oracle_argv);
    INFO("reference send: " << to_oracle.Describe());
    // Non-fatal checks only inside the loop: one bad file must not hide the
    // outcome of the others.
    CHECK(to_oracle.exit_code == 0);
    std::optional<std::string> sent_data_set = oracle.TakeReceived();
    CHECK(sent_data_set.has_value());
    if (!sent_data_set) continue;

    auto rows = archive.sql().Query(
        "SELECT i.relative_path, i.checksum_sha256, i.size_bytes, i.transfer_syntax_uid "
        "FROM instances i JOIN facilities f ON f.id = i.facility_id WHERE f.name = $1",
        {facility});
    CHECK(rows.size() == 1);
    if (rows.size() != 1) continue;
    const fs::path stored = archive.storage_root() / *rows[0][0];
    CHECK(fs::is_regular_file(stored));
    if (!fs::is_regular_file(stored)) continue;
    const std::string stored_bytes = ReadFileBytes(stored);
    CHECK(Sha256Hex(stored_bytes) == *rows[0][1]);
    CHECK(std::to_string(stored_bytes.size()) == *rows[0][2]);
    CHECK(*rows[0][3] == description.transfer_syntax_uid);
    Part10File stored_file = SplitPart10(stored_bytes);
    CHECK(stored_file.transfer_syntax_uid == description.transfer_syntax_uid);
    CHECK(stored_file.data_set.size() == sent_data_set->size());
    CHECK(stored_file.data_set == *sent_data_set);
  }

  CHECK(archive.sql().Count("SELECT count(*) FROM instances") == expected_rows);
  CHECK(ListFilesRecursive(archive.incoming_dir()).empty());
  ToolResult echo = archive.Echo("IT_C00");
  INFO(echo.Describe());
  CHECK(echo.exit_code == 0);
}

}  // namespace hokan::integration
