#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/test_support.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {

// The hokan-forward executable this test binary was built against.
fs::path RelayBinary();

// How a test relay is configured (written to relay.ini at every Start, so a
// test may change the options between restarts).
struct RelayOptions {
  std::string ae_title = "RELAY";
  std::vector<std::string> modality_ae_titles = {"MODALITY"};
  // The archive to forward to; by default a port nobody listens on.
  std::string archive_ae_title = "HOKAN";
  int archive_port = 0;  // 0: a free port picked at construction (nothing listens)
  // Default: per_exam with a week of quiet, so nothing is forwarded unless
  // a test sets [timing] itself. [archive] contract_refresh_seconds is 0
  // (the archive's contract timing is not asked) unless set here.
  std::map<std::string, std::vector<std::string>> settings = {
      {"timing", {"mode = per_exam", "exam_quiet_minutes = 10080"}}};
  // Enables [import] with dir = <temp>/import.
  bool import = false;
  // HOKAN_TEST_CLOCK_FILE for the relay (SetClock).
  bool controlled_clock = false;
  // The port to listen on first (e.g. one a PACS already knows as a C-MOVE
  // destination); 0: a free port. Start() falls back to another free port
  // only when this one cannot be used.
  std::uint16_t port = 0;
};

// One spooled item as `hokan-forward status --items` lists it.
struct RelayItem {
  std::int64_t id = 0;
  std::string state;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::int64_t size_bytes = 0;
  std::string sha256_hex;
  int attempts = 0;
  fs::path file;
};

// A real `hokan-forward run` in its own temporary folder (spool/, import/,
// relay.ini, relay.log) on a free port. Start() waits until it answers
// echoscu (from the first modality AE title). Destruction kills it.
class RelayProcess {
 public:
  explicit RelayProcess(RelayOptions options = {});
  ~RelayProcess();
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  RelayOptions& options() { return options_; }
  void Start();
  int Stop();  // SIGTERM; returns the exit status
  void Kill();  // SIGKILL
  bool Running();

  std::uint16_t port() const { return port_; }
  // Start() tries this port first (e.g. one the archive's report_destinations
  // already names); REQUIRES: not running.
  void UsePort(std::uint16_t port) { port_ = port; }
  const std::string& ae_title() const { return options_.ae_title; }
  fs::path spool_dir() const { return temp_.path() / "spool"; }
  fs::path import_dir() const { return temp_.path() / "import"; }
  fs::path config_path() const { return temp_.path() / "relay.ini"; }
  std::string Log() const;
  void SetClock(const std::string& utc) const;
  EnvOverrides Environment() const;

  // `hokan-forward status --config relay.ini [--items]`.
  ToolResult Status(bool items = false) const;
  // The count `hokan-forward status` shows for `state` (its line
  // "  <state> N"); 0 when status fails or has no such line.
  std::size_t CountInState(const std::string& state) const;
  // The items on disk, parsed from Status(true). Throws when status fails.
  std::vector<RelayItem> Items() const;
  // storescu to the relay as `calling_ae` (options before the address).
  ToolResult StoreScu(const std::string& calling_ae, const std::vector<std::string>& options,
                      const std::vector<std::string>& files) const;

 private:
  void WriteConfig() const;
  bool StartOnce();

  RelayOptions options_;
  TempDir temp_;
  std::uint16_t port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace hokan::integration
