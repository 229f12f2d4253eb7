#include "tests/integration/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace hokan::integration {

std::string TestDatabaseUrl() {
  const char* url = std::getenv("HOKAN_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "HOKAN_TEST_DATABASE_URL is not set: the integration tests need a "
        "running PostgreSQL on which they may create and drop databases. "
        "Start the project cluster with `bash scripts/db.sh start` and export "
        "HOKAN_TEST_DATABASE_URL=\"$(bash scripts/db.sh url)\", or point it at "
        "another server as a libpq key=value conninfo, e.g. "
        "\"host=/path/to/socket port=5433 user=hokan dbname=postgres\".");
  }
  std::string value = url;
  if (value.rfind("postgres://", 0) == 0 || value.rfind("postgresql://", 0) == 0) {
    throw std::runtime_error(
        "HOKAN_TEST_DATABASE_URL must be a key=value conninfo (the harness "
        "appends \" dbname=<throwaway>\"), not a URI: " +
        value);
  }
  return value;
}

fs::path ArchiveBinary() { return fs::path(HOKAN_ARCHIVE_BINARY); }

fs::path SourceDir() { return fs::path(HOKAN_SOURCE_DIR); }

fs::path PydicomDataDir() {
  if (const char* dir = std::getenv("HOKAN_IT_PYDICOM_DATA"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return "/usr/lib/python3/dist-packages/pydicom/data";
}

fs::path SystemPython() { return "/usr/bin/python3"; }

bool KeepArtifacts() {
  const char* keep = std::getenv("HOKAN_IT_KEEP");
  return keep != nullptr && *keep != '\0' && std::string(keep) != "0";
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  if (KeepArtifacts()) {
    std::cerr << "HOKAN_IT_KEEP: keeping " << path_ << "\n";
    return;
  }
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::uint16_t FreeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    ::close(fd);
    throw std::system_error(error, std::generic_category(), "bind 127.0.0.1:0");
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(sha256) failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(interval);
  }
  return condition();
}

bool ContainsIgnoreCase(const std::string& haystack, const std::string& needle) {
  auto lower = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
  };
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

std::vector<fs::path> ListFilesRecursive(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code error;
  if (!fs::exists(dir, error)) return files;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    // The storage root's marker (archive/storage/storage_marker.h) is no stored file.
    if (it->path().filename() == ".hokan-storage") continue;
    if (it->is_regular_file(error)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace hokan::integration
