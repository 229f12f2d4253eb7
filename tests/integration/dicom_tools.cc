#include "tests/integration/dicom_tools.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "tests/integration/tool_runner.h"

namespace hokan::integration {

std::vector<GeneratedInstance> MakeStudy(const fs::path& out,
                                         const std::vector<std::string>& args) {
  std::vector<std::string> argv{SystemPython().string(),
                                (SourceDir() / "tests/data/make_study.py").string(), "--out",
                                out.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ToolResult result = RunTool(argv, {{"PYTHONWARNINGS", "ignore"}}, 300s);
  if (result.exit_code != 0)
    throw std::runtime_error("make_study.py failed:\n" + result.Describe());
  std::vector<GeneratedInstance> instances;
  std::istringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;  // a warning line, not a file
    instances.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return instances;
}

std::vector<DicomDescription> DescribeDicom(const std::vector<fs::path>& files) {
  std::vector<std::string> argv{SystemPython().string(),
                                (SourceDir() / "tests/data/describe_dicom.py").string()};
  for (const auto& f : files) argv.push_back(f.string());
  ToolResult result = RunTool(argv, {{"PYTHONWARNINGS", "ignore"}}, 120s);
  if (result.exit_code != 0)
    throw std::runtime_error("describe_dicom.py failed:\n" + result.Describe());
  std::vector<DicomDescription> descriptions;
  std::istringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    auto first = line.find('\t');
    auto second = first == std::string::npos ? first : line.find('\t', first + 1);
    if (second == std::string::npos) continue;
    descriptions.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1),
                            line.substr(second + 1)});
  }
  if (descriptions.size() != files.size()) {
    throw std::runtime_error("describe_dicom.py described " + std::to_string(descriptions.size()) +
                             " of " + std::to_string(files.size()) + " files:\n" +
                             result.Describe());
  }
  return descriptions;
}

void WriteSingleContextProfile(const fs::path& file, const std::string& sop_class_uid,
                               const std::string& transfer_syntax_uid) {
  std::ofstream out(file, std::ios::trunc);
  out << "[[TransferSyntaxes]]\n[OwnSyntax]\nTransferSyntax1 = " << transfer_syntax_uid << "\n"
      << "[[PresentationContexts]]\n[OwnContext]\nPresentationContext1 = " << sop_class_uid
      << "\\OwnSyntax\n"
      << "[[Profiles]]\n[ONLY]\nPresentationContexts = OwnContext\n";
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::vector<std::uint16_t> DimseStatusesFromDebugOutput(const std::string& output) {
  static const std::regex kStatus(R"(DIMSE Status\s*:\s*0x([0-9a-fA-F]{4}))");
  std::vector<std::uint16_t> statuses;
  for (std::sregex_iterator it(output.begin(), output.end(), kStatus), end; it != end; ++it) {
    statuses.push_back(static_cast<std::uint16_t>(std::stoul((*it)[1].str(), nullptr, 16)));
  }
  return statuses;
}

int CountOccurrences(const std::string& haystack, const std::string& needle) {
  int count = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

int CountStoreSuccesses(const std::string& output) {
  return CountOccurrences(output, "Received Store Response (Success)");
}

std::vector<std::string> PathsOf(const std::vector<GeneratedInstance>& instances) {
  std::vector<std::string> paths;
  for (const auto& instance : instances) paths.push_back(instance.path.string());
  return paths;
}

StoreScpDestination::StoreScpDestination(const std::vector<std::string>& extra_options)
    : folder_("hokan-it-destination"), port_(FreeTcpPort()) {
  fs::create_directories(folder_.path() / "in");
  std::vector<std::string> argv = {"storescp", "-od", (folder_.path() / "in").string()};
  argv.insert(argv.end(), extra_options.begin(), extra_options.end());
  argv.push_back(std::to_string(port_));
  process_ = std::make_unique<BackgroundProcess>(argv, folder_.path() / "storescp.log",
                                                 folder_.path());
  REQUIRE(WaitUntil(
      [&] {
        return RunTool({"echoscu", "localhost", std::to_string(port_)}, {}, 5s).exit_code == 0;
      },
      30s, 50ms));
}

std::vector<fs::path> StoreScpDestination::Received() const {
  return ListFilesRecursive(folder_.path() / "in");
}

void StoreScpDestination::Clear() const {
  for (const auto& file : Received()) fs::remove(file);
}

}  // namespace hokan::integration
