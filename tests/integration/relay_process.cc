#include "tests/integration/relay_process.h"

#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hokan::integration {
namespace {

constexpr auto kReadyDeadline = 30s;
constexpr int kStartAttempts = 5;

std::string Join(const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : ", ") + item;
  return joined;
}

}  // namespace

fs::path RelayBinary() { return HOKAN_RELAY_BINARY; }

RelayProcess::RelayProcess(RelayOptions options)
    : options_(std::move(options)), temp_("hokan-relay") {
  if (options_.archive_port == 0) options_.archive_port = FreeTcpPort();
  port_ = options_.port;  // tried first by Start(); 0 picks a free one
  fs::create_directories(import_dir());
}

RelayProcess::~RelayProcess() { Kill(); }

void RelayProcess::WriteConfig() const {
  std::ofstream config(config_path(), std::ios::trunc);
  config << "[relay]\n"
         << "ae_title = " << options_.ae_title << "\n"
         << "port = " << port_ << "\n"
         << "spool_dir = " << spool_dir().string() << "\n"
         << "modality_ae_titles = " << Join(options_.modality_ae_titles) << "\n"
         << "log_level = debug\n";
  auto extra = options_.settings;
  for (const auto& line : extra["relay"]) config << line << "\n";
  config << "[archive]\n"
         << "ae_title = " << options_.archive_ae_title << "\n"
         << "host = localhost\n"
         << "port = " << options_.archive_port << "\n";
  bool refresh_set = false;
  for (const auto& line : extra["archive"]) {
    config << line << "\n";
    refresh_set = refresh_set || line.rfind("contract_refresh_seconds", 0) == 0;
  }
  // The tests of [timing] pin it in the file: the archive's contract is not
  // asked unless a test says how often (relay_timing_test).
  if (!refresh_set) config << "contract_refresh_seconds = 0\n";
  if (options_.import) {
    config << "[import]\n"
           << "dir = " << import_dir().string() << "\n";
    for (const auto& line : extra["import"]) config << line << "\n";
  }
  for (const auto& [section, lines] : extra) {
    if (section == "relay" || section == "archive" || section == "import") continue;
    config << "[" << section << "]\n";
    for (const auto& line : lines) config << line << "\n";
  }
}

std::string RelayProcess::Log() const {
  try {
    return ReadFileBytes(temp_.path() / "relay.log");
  } catch (const std::runtime_error&) {
    return "";
  }
}

void RelayProcess::SetClock(const std::string& utc) const {
  WriteFileBytes(temp_.path() / "clock", utc + "\n");
}

EnvOverrides RelayProcess::Environment() const {
  EnvOverrides environment;
  if (options_.controlled_clock) {
    environment["HOKAN_TEST_CLOCK_FILE"] = (temp_.path() / "clock").string();
  }
  return environment;
}

bool RelayProcess::Running() { return process_ && process_->Running(); }

bool RelayProcess::StartOnce() {
  WriteConfig();
  {
    std::ofstream log(temp_.path() / "relay.log", std::ios::app);
    log << fmt::format("===== test harness: starting hokan-forward on port {} =====\n", port_);
  }
  process_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{RelayBinary().string(), "run", "--config", config_path().string()},
      temp_.path() / "relay.log", temp_.path(), Environment());
  const std::string probe_ae =
      options_.modality_ae_titles.empty() ? options_.archive_ae_title
                                          : options_.modality_ae_titles.front();
  const bool ready = WaitUntil(
      [&] {
        if (!process_->Running()) return true;
        return RunTool({"echoscu", "-to", "2", "-ta", "5", "-td", "5", "-aet", probe_ae, "-aec",
                        options_.ae_title, "localhost", std::to_string(port_)},
                       {}, 15s)
                   .exit_code == 0;
      },
      kReadyDeadline, 100ms);
  if (!process_->Running()) return false;
  if (!ready) {
    process_->Stop(SIGKILL);
    throw std::runtime_error(fmt::format(
        "hokan-forward did not answer echoscu within 30 s on port {}; log:\n{}", port_, Log()));
  }
  return true;
}

void RelayProcess::Start() {
  if (Running()) throw std::logic_error("RelayProcess::Start while running");
  if (port_ != 0 && StartOnce()) return;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = FreeTcpPort();
    if (StartOnce()) return;
  }
  throw std::runtime_error(
      fmt::format("hokan-forward exited during start-up (exit code {}) {} times; log:\n{}",
                  process_->exit_code().value_or(-1), kStartAttempts, Log()));
}

int RelayProcess::Stop() {
  if (!process_) return -1;
  return process_->Stop(SIGTERM);
}

void RelayProcess::Kill() {
  if (process_) process_->Stop(SIGKILL);
}

ToolResult RelayProcess::Status(bool items) const {
  std::vector<std::string> argv{RelayBinary().string(), "status", "--config",
                                config_path().string()};
  if (items) argv.push_back("--items");
  return RunTool(argv, Environment());
}

std::size_t RelayProcess::CountInState(const std::string& state) const {
  const ToolResult status = Status();
  if (status.exit_code != 0) return 0;
  const std::string key = "\n  " + state + " ";
  const std::size_t at = status.output.find(key);
  if (at == std::string::npos) return 0;
  return static_cast<std::size_t>(std::stoll(status.output.substr(at + key.size())));
}

std::vector<RelayItem> RelayProcess::Items() const {
  const ToolResult status = Status(true);
  if (status.exit_code != 0) throw std::runtime_error(status.Describe());
  std::vector<RelayItem> items;
  std::istringstream lines(status.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("item ", 0) != 0) continue;
    std::istringstream fields(line.substr(5));
    RelayItem item;
    std::string study, size, sha, attempts;
    fields >> item.id >> item.state >> item.sop_instance_uid >> study >> size >> sha >> attempts;
    std::string file;
    std::getline(fields, file);
    item.study_instance_uid = study.substr(study.find('=') + 1);
    item.size_bytes = std::stoll(size.substr(size.find('=') + 1));
    item.sha256_hex = sha.substr(sha.find('=') + 1);
    item.attempts = std::stoi(attempts.substr(attempts.find('=') + 1));
    item.file = file.substr(file.find('=') + 1);
    items.push_back(item);
  }
  return items;
}

ToolResult RelayProcess::StoreScu(const std::string& calling_ae,
                                  const std::vector<std::string>& options,
                                  const std::vector<std::string>& files) const {
  std::vector<std::string> argv{"storescu"};
  argv.insert(argv.end(), options.begin(), options.end());
  for (const std::string& arg :
       {std::string("-to"), std::string("5"), std::string("-ta"), std::string("10"),
        std::string("-td"), std::string("60"), std::string("-aet"), calling_ae,
        std::string("-aec"), options_.ae_title, std::string("localhost"),
        std::to_string(port_)}) {
    argv.push_back(arg);
  }
  argv.insert(argv.end(), files.begin(), files.end());
  return RunTool(argv);
}

}  // namespace hokan::integration
