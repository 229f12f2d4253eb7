#pragma once

// Test data and DCMTK tool plumbing: generating studies with
// tests/data/make_study.py, describing files with tests/data/describe_dicom.py,
// storescu association profiles, and reading statuses out of storescu's output.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/test_support.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {

struct GeneratedInstance {
  fs::path path;
  std::string sop_instance_uid;
};

// Runs make_study.py --out `out` plus `args` (e.g. {"--count", "100"}).
// Returns the files in the order written. Throws std::runtime_error with the
// script's output when it fails.
std::vector<GeneratedInstance> MakeStudy(const fs::path& out, const std::vector<std::string>& args);

// The files' paths, in order (e.g. for storescu).
std::vector<std::string> PathsOf(const std::vector<GeneratedInstance>& instances);

struct DicomDescription {
  fs::path path;
  std::string sop_class_uid;        // "-" when unknown
  std::string transfer_syntax_uid;  // "-" when unknown
};

// Runs describe_dicom.py on `files` (one interpreter for all). Throws on a
// script failure.
std::vector<DicomDescription> DescribeDicom(const std::vector<fs::path>& files);

// Writes a storescu association profile file proposing exactly one
// presentation context: `sop_class_uid` with the single transfer syntax
// `transfer_syntax_uid`, as profile "ONLY". Use as
// storescu -xf <file> ONLY ... so the file is sent in its own encoding or
// not at all (no conversion by storescu).
void WriteSingleContextProfile(const fs::path& file, const std::string& sop_class_uid,
                               const std::string& transfer_syntax_uid);

// The DIMSE statuses of the C-STORE responses in storescu output produced
// with --debug (-d): lines "DIMSE Status : 0xc010: ...", in order.
std::vector<std::uint16_t> DimseStatusesFromDebugOutput(const std::string& output);

// How many "Received Store Response (Success)" lines storescu -v printed.
int CountStoreSuccesses(const std::string& output);

// Occurrences of `needle` in `haystack`.
int CountOccurrences(const std::string& haystack, const std::string& needle);

// storescu's exit code for a final response status (DCMTK 3.6.7 exits with
// the status's high byte when it halts on an unsuccessful store).
constexpr int StorescuExitCodeFor(std::uint16_t status) { return (status >> 8) & 0xff; }

// DCMTK's storescp on a free port, writing what it receives into its own
// temporary folder: a C-MOVE destination. The constructor waits until it
// answers echoscu (a Catch2 REQUIRE); destruction stops it.
class StoreScpDestination {
 public:
  explicit StoreScpDestination(const std::vector<std::string>& extra_options = {});
  std::uint16_t port() const { return port_; }
  // Every file received so far.
  std::vector<fs::path> Received() const;
  // Removes the files received so far.
  void Clear() const;

 private:
  TempDir folder_;
  std::uint16_t port_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace hokan::integration
