#pragma once

// A real hokan-archive for one test: its own throwaway database, temporary
// directory (config file, storage root, log) and TCP port.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/test_support.h"
#include "tests/integration/throwaway_database.h"
#include "tests/integration/tool_runner.h"

namespace hokan::integration {

// A [facility.NAME] section of the configuration.
struct FacilitySpec {
  std::string name;                          // letters, digits, _ . -
  std::vector<std::string> store_ae_titles;  // calling AE titles that may store
  std::vector<std::string> allowed_peers;    // addresses/CIDRs; empty = any address
  std::vector<std::string> query_ae_titles;  // calling AE titles that may only query
  // Writes provision_contract = true: the facility gets the provisional
  // contract (annual, one year from the archive's "now", all data) when it
  // has none. false: no contract unless the test adds one.
  bool provision_contract = true;
};

struct ArchiveOptions {
  std::string ae_title = "HOKAN_IT";
  // REQUIRES: not empty. The first AE title of the first facility is the
  // readiness probe's calling AE: it must be allowed from 127.0.0.1.
  std::vector<FacilitySpec> facilities;
  int max_associations = 8;
  std::string log_level = "info";
  // Extra "key = value" lines for the [archive] section.
  std::vector<std::string> extra_archive_settings;
  // Extra "key = value" lines for the first facility's section.
  std::vector<std::string> extra_facility_lines;
  // Extra "key = value" lines for the section of the facility named by the key.
  std::map<std::string, std::vector<std::string>> facility_lines;
  // Started with HOKAN_TEST_CLOCK_FILE=<work>/clock (see clock_file()):
  // the archive's "now" is what the test writes there (SetClock).
  bool controlled_clock = false;
  // REQUIRED with controlled_clock (the constructor throws without it): the
  // test's base time, written to clock_file() before the first start, so
  // the archive never sees the system clock (the provisional contract
  // starts on the base's day; jobs scheduled at start-up are due on it).
  // Every other time the test sets or writes derives from this base.
  std::string initial_clock;
  // Extra environment variables for the archive (and for Environment()),
  // e.g. {"HOKAN_FAILPOINTS", "expiry-after-quarantine"}. See
  // ArchiveProcess::SetExtraEnvironment to change them for a restart.
  EnvOverrides environment;
  // When not empty: run on this conninfo (another ArchiveProcess's
  // database_url()) instead of the own throwaway database, so two nodes
  // share one database; sql() connects there too.
  std::string shared_database_url;
  // When not empty: the storage root (another ArchiveProcess's
  // storage_root()), shared like the database.
  std::string shared_storage_root;
};

// One facility "clinic" whose only store AE title is `store_ae`.
ArchiveOptions SingleFacilityOptions(const std::string& store_ae = "IT_MODALITY");

// Starting: the constructor creates the database and directories, writes
// <work>/hokan.ini, picks a free port and starts the binary with
// `--config <work>/hokan.ini --database-url <conninfo>` in <work>, output
// appended to <work>/archive.log. It is ready when `echoscu` as the probe AE
// succeeds; it polls (no fixed sleep) until a 60 s deadline. If the process
// exits before it is ready it is retried with another port (a port taken in
// between by a parallel test), up to 3 times; then the constructor throws
// std::runtime_error carrying the log.
// Stopping: the destructor sends SIGTERM and waits (SIGKILL after 20 s),
// then drops the database and removes the directory (both kept when
// HOKAN_IT_KEEP is set). Not thread-safe; not copyable.
class ArchiveProcess {
 public:
  explicit ArchiveProcess(ArchiveOptions options);
  ~ArchiveProcess();
  ArchiveProcess(const ArchiveProcess&) = delete;
  ArchiveProcess& operator=(const ArchiveProcess&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& ae_title() const { return options_.ae_title; }
  const std::string& probe_ae() const {
    return options_.facilities.front().store_ae_titles.front();
  }
  const fs::path& work_dir() const { return temp_.path(); }
  fs::path storage_root() const {
    return options_.shared_storage_root.empty() ? temp_.path() / "storage"
                                                : fs::path(options_.shared_storage_root);
  }
  // Where the archive keeps files being received (recursively).
  fs::path incoming_dir() const { return storage_root() / ".incoming"; }
  fs::path log_path() const { return temp_.path() / "archive.log"; }
  std::string database_url() const {
    return options_.shared_database_url.empty() ? database_.conninfo()
                                                : options_.shared_database_url;
  }
  // Replaces options.environment for the next Start()/Restart().
  void SetExtraEnvironment(const EnvOverrides& environment) {
    options_.environment = environment;
  }
  // The file HOKAN_TEST_CLOCK_FILE names when options.controlled_clock.
  fs::path clock_file() const { return temp_.path() / "clock"; }
  // Writes `utc` ("2031-05-01T00:00:00Z") to clock_file(); "" = system clock.
  void SetClock(const std::string& utc) const;
  // The archive's "now" as UTC text ("2031-05-01T00:00:00Z"): the time in
  // clock_file() when the clock is controlled and set, else the system
  // clock's (what hokan::Now() reads in the archive). Tests write times
  // into the database from this, never from PostgreSQL's now().
  std::string ClockNow() const;
  // The test's base time, options.initial_clock ("" without a controlled
  // clock).
  const std::string& clock_base() const { return options_.initial_clock; }
  // The environment the archive runs with (for the `hokan` command, so it
  // sees the same clock).
  EnvOverrides Environment() const;
  Sql& sql() { return sql_; }

  // Everything the archive has written to stdout/stderr so far, across
  // restarts.
  std::string Log() const;

  // True while the process runs.
  bool Running();

  // SIGTERM, wait for the exit; returns the exit code (128+N for a signal).
  int Stop();
  // SIGKILL, wait for the exit (a crash).
  void Kill();
  // Starts again with the same configuration, database, storage and port,
  // and waits until ready. REQUIRES: stopped or killed.
  void Start();
  // Stop() then Start().
  void Restart();

  // echoscu -aet calling_ae -aec called_ae (default: ae_title()) against
  // this archive.
  ToolResult Echo(const std::string& calling_ae, const std::string& called_ae = "") const;

  // storescu [options] -aet calling_ae -aec ae_title() localhost port files...
  ToolResult StoreScu(const std::string& calling_ae, const std::vector<std::string>& options,
                      const std::vector<std::string>& files) const;

 private:
  void WriteConfig() const;
  // Starts the process on port_ and waits; false when it exited before
  // getting ready (the caller may retry with another port).
  bool StartOnce();

  ArchiveOptions options_;
  TempDir temp_;
  ThrowawayDatabase database_;
  Sql sql_;
  std::uint16_t port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

// Runs `hokan --database-url <archive's database> arguments...` with the
// archive's Environment() (so the command reads the archive's clock) plus
// `extra_environment`.
ToolResult Admin(const ArchiveProcess& archive, const std::vector<std::string>& arguments,
                 const EnvOverrides& extra_environment = {});

}  // namespace hokan::integration
