#include "tests/integration/tool_runner.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "tests/integration/test_support.h"

namespace hokan::integration {
namespace bp = boost::process;

namespace {

// PATH lookup done here rather than with bp::search_path, which would need
// the compiled boost_filesystem library.
std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw std::runtime_error("program not found on PATH: " + program);
}

bp::environment MakeEnvironment(const EnvOverrides& overrides) {
  bp::environment env = boost::this_process::environment();
  env["TCP_NODELAY"] = "1";
  for (const auto& [key, value] : overrides) env[key] = value;
  return env;
}

// Children die with the test process (ctest's timeout kills it with
// SIGKILL, which gives the harness no chance to stop its archives).
struct DieWithParent : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor& /*executor*/) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
};

int DecodeStatus(int native_status) {
  if (WIFEXITED(native_status)) return WEXITSTATUS(native_status);
  if (WIFSIGNALED(native_status)) return 128 + WTERMSIG(native_status);
  return -1;
}

std::string JoinCommand(const std::vector<std::string>& argv) {
  std::string joined;
  for (const auto& arg : argv) {
    if (!joined.empty()) joined += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\"'\\$") == std::string::npos;
    joined += plain ? arg : "'" + arg + "'";
  }
  return joined;
}

// An unlinked-on-close temporary file for a tool's combined output.
struct OutputFile {
  OutputFile() {
    char pattern[] = "/tmp/hokan-it-tool-XXXXXX";
    int fd = ::mkstemp(pattern);
    if (fd < 0) throw std::runtime_error("mkstemp for tool output failed");
    path = pattern;
    file = ::fdopen(fd, "w+");
  }
  ~OutputFile() {
    if (file != nullptr) std::fclose(file);
    ::unlink(path.c_str());
  }
  std::string path;
  FILE* file = nullptr;
};

}  // namespace

std::string ToolResult::Describe() const {
  return fmt::format("$ {}\nexit code {}{}\n--- output ---\n{}--- end ---", command, exit_code,
                     timed_out ? " (killed at the timeout)" : "", output);
}

ToolResult RunTool(const std::vector<std::string>& argv, const EnvOverrides& env,
                   std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("RunTool: empty argv");
  ToolResult result;
  result.command = JoinCommand(argv);
  OutputFile output;
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::child child;
  try {
    child =
        bp::child(bp::exe(ResolveProgram(argv[0])), bp::args(args), MakeEnvironment(env),
                  bp::std_in<bp::null, (bp::std_out & bp::std_err)> output.file, DieWithParent{});
  } catch (const bp::process_error& e) {
    throw std::runtime_error("cannot start " + result.command + ": " + e.what());
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto interval = 1ms;
  while (child.running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(child.id(), SIGKILL);
      child.wait();
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(interval);
    interval = std::min<std::chrono::milliseconds>(interval * 2, 20ms);
  }
  result.exit_code = DecodeStatus(child.native_exit_code());
  std::fflush(output.file);
  result.output = ReadFileBytes(output.path);
  return result;
}

struct BackgroundProcess::Impl {
  bp::child child;
};

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::filesystem::path& log_file,
                                     const std::filesystem::path& working_dir,
                                     const EnvOverrides& env)
    : impl_(std::make_unique<Impl>()) {
  if (argv.empty()) throw std::invalid_argument("BackgroundProcess: empty argv");
  FILE* log = std::fopen(log_file.c_str(), "a");
  if (log == nullptr) throw std::runtime_error("cannot open log file " + log_file.string());
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  try {
    impl_->child =
        bp::child(bp::exe(ResolveProgram(argv[0])), bp::args(args), MakeEnvironment(env),
                  bp::start_dir(working_dir.string()),
                  bp::std_in<bp::null, (bp::std_out & bp::std_err)> log, DieWithParent{});
  } catch (const bp::process_error& e) {
    std::fclose(log);
    throw std::runtime_error("cannot start " + JoinCommand(argv) + ": " + e.what());
  }
  std::fclose(log);  // the child has its own descriptors
}

BackgroundProcess::~BackgroundProcess() {
  if (!exit_code_) Stop(SIGKILL, 10s);
}

pid_t BackgroundProcess::pid() const { return impl_->child.id(); }

bool BackgroundProcess::Running() {
  if (exit_code_) return false;
  if (impl_->child.running()) return true;
  exit_code_ = DecodeStatus(impl_->child.native_exit_code());
  return false;
}

int BackgroundProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (!Running()) return *exit_code_;
  ::kill(pid(), signal);
  if (!WaitUntil([this] { return !Running(); }, timeout, 10ms)) {
    ::kill(pid(), SIGKILL);
    impl_->child.wait();
    exit_code_ = DecodeStatus(impl_->child.native_exit_code());
  }
  return *exit_code_;
}

}  // namespace hokan::integration
