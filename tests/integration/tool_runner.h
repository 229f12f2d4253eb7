#pragma once

// Running external programs (DCMTK's tools, python scripts, hokan-archive)
// from tests: one-shot with a timeout, or in the background with a log file.

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hokan::integration {

using namespace std::chrono_literals;

// Extra environment variables, on top of the test's own environment.
using EnvOverrides = std::map<std::string, std::string>;

struct ToolResult {
  int exit_code = -1;      // the program's exit status; 128+N when killed by signal N
  bool timed_out = false;  // killed by RunTool at the deadline
  std::string output;      // stdout and stderr, interleaved as written

  // For assertion messages: the command line, exit code and output.
  std::string command;
  std::string Describe() const;
};

// Runs argv[0] (looked up on PATH unless it contains a '/') with the rest of
// argv as arguments, stdin from /dev/null, stdout and stderr captured
// together. The environment is the test's plus TCP_NODELAY=1 plus `env`.
// At the timeout the program is killed (SIGKILL) and timed_out is set.
// Throws std::runtime_error when the program cannot be started.
ToolResult RunTool(const std::vector<std::string>& argv, const EnvOverrides& env = {},
                   std::chrono::milliseconds timeout = 120s);

// A program running in the background, its stdout and stderr appended to a
// log file. Destruction kills it (SIGKILL) if it still runs and reaps it.
// Not thread-safe; not copyable.
class BackgroundProcess {
 public:
  // Starts argv (PATH lookup as RunTool) in `working_dir`, appending its
  // output to `log_file` (created if missing). Environment as RunTool.
  // Throws std::runtime_error when it cannot be started.
  BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                    const std::filesystem::path& working_dir, const EnvOverrides& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const;

  // True while the process has not exited (reaps it when it has).
  bool Running();

  // Sends `signal`, then waits up to `timeout` for the exit; SIGKILL after
  // that. Returns the exit status as ToolResult::exit_code (128+N for a
  // signal). Idempotent: later calls return the same status.
  int Stop(int signal, std::chrono::milliseconds timeout = 20s);

  // The exit status once it has exited (see Running()).
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<int> exit_code_;
};

}  // namespace hokan::integration
