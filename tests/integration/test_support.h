#pragma once

// Small things every integration test needs: where the binaries and data
// are, temporary directories, free ports, file contents and hashes, and
// waiting for a condition with a deadline.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hokan::integration {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The libpq key=value conninfo of a running PostgreSQL server on which the
// tests may create and drop databases, from HOKAN_TEST_DATABASE_URL.
// Throws std::runtime_error (failing the test, never skipping it) with a
// message saying how to set it when the variable is unset or empty, or when
// it is a URI (the harness appends " dbname=..." and needs key=value form).
std::string TestDatabaseUrl();

// The hokan-archive executable this test binary was built against.
fs::path ArchiveBinary();

// The repository root (for tests/data scripts).
fs::path SourceDir();

// pydicom's data directory (test_files/, charset_files/).
fs::path PydicomDataDir();

// Debian's interpreter, which has pydicom and numpy (the python3 on PATH
// may not).
fs::path SystemPython();

// A fresh directory under the system temporary directory, removed with
// everything in it on destruction (kept when HOKAN_IT_KEEP is set, for
// post-mortems; the path is printed then). Not copyable.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hokan-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// True when HOKAN_IT_KEEP is set: keep temp dirs and databases after a run.
bool KeepArtifacts();

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read
// the port, close). Another process may take it before it is used: callers
// that start a server retry with a new port when the bind fails.
std::uint16_t FreeTcpPort();

// The whole file as bytes. Throws std::runtime_error if it cannot be read.
std::string ReadFileBytes(const fs::path& path);

// Writes `bytes` to `path`, replacing it. Throws on failure.
void WriteFileBytes(const fs::path& path, const std::string& bytes);

// Lowercase hex SHA-256 of `bytes`.
std::string Sha256Hex(const std::string& bytes);

// Polls `condition` every `interval` until it returns true (→ true) or
// `timeout` has passed (→ false; `condition` is evaluated once more at the
// deadline).
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = 50ms);

// True when `haystack` contains `needle`, ASCII case ignored (log lines
// may spell a status 0xC010 or 0xc010).
bool ContainsIgnoreCase(const std::string& haystack, const std::string& needle);

// Regular files below `dir` (recursive), sorted, without a storage root's
// marker (.hokan-storage). Empty if `dir` is absent.
std::vector<fs::path> ListFilesRecursive(const fs::path& dir);

}  // namespace hokan::integration
