#include "tests/integration/archive_process.h"

#include <signal.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "archive/common/clock.h"

namespace hokan::integration {

namespace {

std::string Join(const std::vector<std::string>& values) {
  std::string joined;
  for (const auto& v : values) {
    if (!joined.empty()) joined += ", ";
    joined += v;
  }
  return joined;
}

constexpr auto kReadyDeadline = 60s;
constexpr int kStartAttempts = 3;

}  // namespace

ArchiveOptions SingleFacilityOptions(const std::string& store_ae) {
  ArchiveOptions options;
  options.facilities.push_back({"clinic", {store_ae}, {}, {}});
  return options;
}

ArchiveProcess::ArchiveProcess(ArchiveOptions options)
    : options_(std::move(options)),
      temp_("hokan-it-archive"),
      database_(TestDatabaseUrl()),
      sql_(options_.shared_database_url.empty() ? database_.conninfo()
                                                : options_.shared_database_url) {
  if (options_.facilities.empty() || options_.facilities.front().store_ae_titles.empty()) {
    throw std::invalid_argument("ArchiveProcess needs a facility with a store AE title");
  }
  if (options_.controlled_clock) {
    if (options_.initial_clock.empty()) {
      throw std::invalid_argument(
          "ArchiveOptions: controlled_clock needs initial_clock, the test's base time");
    }
    SetClock(options_.initial_clock);
  }
  Start();
}

ArchiveProcess::~ArchiveProcess() {
  if (process_) process_->Stop(SIGTERM);
  sql_.Disconnect();
}

void ArchiveProcess::WriteConfig() const {
  std::ofstream out(temp_.path() / "hokan.ini", std::ios::trunc);
  out << "# written by the hokan integration tests\n"
      << "[archive]\n"
      << "ae_title = " << options_.ae_title << "\n"
      << "port = " << port_ << "\n"
      << "storage_root = " << storage_root().string() << "\n"
      << "max_associations = " << options_.max_associations << "\n"
      << "log_level = " << options_.log_level << "\n";
  // Fixed, so a restart on another port still sweeps the same incoming
  // folder (the default name contains the port); a second node sharing
  // the storage root names itself in extra_archive_settings.
  bool node_named = false;
  for (const auto& line : options_.extra_archive_settings) {
    node_named = node_named || line.rfind("node_name", 0) == 0;
  }
  if (!node_named) out << "node_name = hokan-it\n";
  bool floor_set = false;
  for (const auto& line : options_.extra_archive_settings) {
    out << line << "\n";
    floor_set = floor_set || line.rfind("free_space_floor_bytes", 0) == 0;
  }
  // Test machines may have little free disk; tests of the floor set it.
  if (!floor_set) out << "free_space_floor_bytes = 0\n";
  for (const auto& facility : options_.facilities) {
    out << "\n[facility." << facility.name << "]\n"
        << "store_ae_titles = " << Join(facility.store_ae_titles) << "\n"
        << "query_ae_titles = " << Join(facility.query_ae_titles) << "\n"
        << "allowed_peers = " << Join(facility.allowed_peers) << "\n"
        << "provision_contract = " << (facility.provision_contract ? "true" : "false") << "\n";
    const auto lines = options_.facility_lines.find(facility.name);
    if (lines != options_.facility_lines.end()) {
      for (const auto& line : lines->second) out << line << "\n";
    }
    if (&facility == &options_.facilities.front()) {
      for (const auto& line : options_.extra_facility_lines) out << line << "\n";
    }
  }
  if (!out) throw std::runtime_error("cannot write the archive configuration");
}

void ArchiveProcess::SetClock(const std::string& utc) const {
  std::ofstream out(clock_file(), std::ios::trunc);
  out << utc << "\n";
  if (!out) throw std::runtime_error("cannot write the test clock file");
}

std::string ArchiveProcess::ClockNow() const {
  if (options_.controlled_clock) {
    std::ifstream in(clock_file());
    std::string text;
    if (in && std::getline(in, text) && !text.empty()) return text;
  }
  return FormatUtc(std::chrono::system_clock::now());
}

EnvOverrides ArchiveProcess::Environment() const {
  EnvOverrides env = options_.environment;
  if (options_.controlled_clock) env["HOKAN_TEST_CLOCK_FILE"] = clock_file().string();
  return env;
}

std::string ArchiveProcess::Log() const {
  try {
    return ReadFileBytes(log_path());
  } catch (const std::runtime_error&) {
    return "";
  }
}

bool ArchiveProcess::Running() { return process_ && process_->Running(); }

bool ArchiveProcess::StartOnce() {
  WriteConfig();
  {
    std::ofstream log(log_path(), std::ios::app);
    log << fmt::format("===== test harness: starting hokan-archive on port {} =====\n", port_);
  }
  process_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{ArchiveBinary().string(), "--config",
                               (temp_.path() / "hokan.ini").string(), "--database-url",
                               database_url()},
      log_path(), temp_.path(), Environment());
  bool ready = WaitUntil(
      [&] {
        if (!process_->Running()) return true;  // stop polling; reported below
        ToolResult echo =
            RunTool({"echoscu", "-to", "2", "-ta", "5", "-td", "5", "-aet", probe_ae(), "-aec",
                     options_.ae_title, "localhost", std::to_string(port_)},
                    {}, 15s);
        return echo.exit_code == 0;
      },
      kReadyDeadline, 100ms);
  if (!process_->Running()) return false;
  if (!ready) {
    process_->Stop(SIGKILL);
    throw std::runtime_error(
        fmt::format("hokan-archive did not answer echoscu within {} s on port {}; log:\n{}",
                    kReadyDeadline.count(), port_, Log()));
  }
  return true;
}

void ArchiveProcess::Start() {
  if (Running()) throw std::logic_error("ArchiveProcess::Start while running");
  if (port_ != 0 && StartOnce()) return;  // a restart keeps its port when it can
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = FreeTcpPort();
    if (StartOnce()) return;
  }
  throw std::runtime_error(
      fmt::format("hokan-archive exited during start-up (exit code {}) {} times; log:\n{}",
                  process_->exit_code().value_or(-1), kStartAttempts, Log()));
}

int ArchiveProcess::Stop() {
  if (!process_) return -1;
  return process_->Stop(SIGTERM);
}

void ArchiveProcess::Kill() {
  if (process_) process_->Stop(SIGKILL);
}

void ArchiveProcess::Restart() {
  Stop();
  Start();
}

ToolResult ArchiveProcess::Echo(const std::string& calling_ae, const std::string& called_ae) const {
  return RunTool({"echoscu", "-v", "-to", "5", "-ta", "10", "-td", "10", "-aet", calling_ae, "-aec",
                  called_ae.empty() ? options_.ae_title : called_ae, "localhost",
                  std::to_string(port_)});
}

ToolResult ArchiveProcess::StoreScu(const std::string& calling_ae,
                                    const std::vector<std::string>& options,
                                    const std::vector<std::string>& files) const {
  std::vector<std::string> argv{"storescu"};
  argv.insert(argv.end(), options.begin(), options.end());
  for (const std::string& arg :
       {std::string("-to"), std::string("5"), std::string("-ta"), std::string("10"),
        std::string("-td"), std::string("60"), std::string("-aet"), calling_ae, std::string("-aec"),
        options_.ae_title, std::string("localhost"), std::to_string(port_)}) {
    argv.push_back(arg);
  }
  argv.insert(argv.end(), files.begin(), files.end());
  return RunTool(argv);
}

ToolResult Admin(const ArchiveProcess& archive, const std::vector<std::string>& arguments,
                 const EnvOverrides& extra_environment) {
  std::vector<std::string> argv = {HOKAN_ADMIN_BINARY, "--database-url", archive.database_url()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  EnvOverrides environment = archive.Environment();
  for (const auto& [key, value] : extra_environment) environment[key] = value;
  return RunTool(argv, environment);
}

}  // namespace hokan::integration
