#include "dicom/association_request_reader.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::dicom {
namespace {

constexpr std::size_t kPduHeaderBytes = 6;
constexpr unsigned char kAssociateRequestPduType = 0x01;
constexpr auto kRefusalLogInterval = std::chrono::seconds(10);

using Clock = std::chrono::steady_clock;

double Seconds(std::chrono::milliseconds duration) { return duration.count() / 1000.0; }

void SetNonBlocking(int socket, bool non_blocking) {
  const int flags = ::fcntl(socket, F_GETFL);
  if (flags < 0) return;
  ::fcntl(socket, F_SETFL, non_blocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

// OpenSSL's first queued error for this thread, e.g. "certificate verify failed".
std::string TlsErrorText() {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  if (error == 0) return "the connection failed or was closed";
  char text[256];
  ERR_error_string_n(error, text, sizeof text);
  return text;
}

}  // namespace

AssociationRequestReader::AssociationRequestReader(AssociationRequestReaderOptions options,
                                                   ReceivedRequestHandler handler)
    : options_(options), handler_(std::move(handler)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    throw Error(ErrorCode::kInternal,
                fmt::format("association request reader: eventfd failed: {}",
                            std::strerror(errno)));
  }
}

AssociationRequestReader::~AssociationRequestReader() {
  for (Connection& connection : admitted_) Close(connection);
  for (Connection& connection : reading_) Close(connection);
  ::close(wake_fd_);
}

bool AssociationRequestReader::Admit(int socket, const std::string& peer) {
  std::string refusal;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = per_address_.find(peer);
    const int from_peer = found == per_address_.end() ? 0 : found->second;
    if (stopping_) {
      refusal = "the server is stopping";
    } else if (from_peer >= options_.max_per_address) {
      refusal = fmt::format(
          "it already has {} connections whose association request is incomplete "
          "(max_half_open_per_address)",
          from_peer);
    } else if (total_ >= options_.max_total) {
      refusal = fmt::format("{} connections are already sending their association request",
                            total_);
    } else {
      ++per_address_[peer];
      ++total_;
      admitted_.push_back({socket, peer, Clock::now() + options_.deadline, 0, {}});
    }
  }
  if (refusal.empty()) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    return true;
  }
  ::close(socket);
  LogRefusal(peer, refusal);
  return false;
}

void AssociationRequestReader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void AssociationRequestReader::Run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    TakeAdmitted();
    PollAndRead();
    DropExpired();
  }
}

void AssociationRequestReader::TakeAdmitted() {
  std::vector<Connection> taken;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    taken.swap(admitted_);
  }
  for (Connection& connection : taken) {
    if (options_.tls_context) {
      connection.tls = SSL_new(options_.tls_context);
      if (!connection.tls || SSL_set_fd(connection.tls, connection.socket) != 1) {
        Log(LogLevel::kError, "connection from {} dropped: cannot start a TLS session: {}",
            connection.peer, TlsErrorText());
        Finish(connection);
        Close(connection);
        continue;
      }
      SetNonBlocking(connection.socket, true);
    }
    reading_.push_back(std::move(connection));
  }
}

void AssociationRequestReader::Close(Connection& connection) {
  if (connection.tls) SSL_free(connection.tls);
  connection.tls = nullptr;
  ::close(connection.socket);
}

// Advances a TLS connection's handshake as far as the bytes that arrived
// allow; kComplete once it is done.
AssociationRequestReader::ReadState AssociationRequestReader::ContinueHandshake(
    Connection& connection) {
  ERR_clear_error();
  const int result = SSL_accept(connection.tls);
  connection.wants_write = false;
  if (result == 1) {
    connection.handshake_done = true;
    return ReadState::kComplete;
  }
  switch (SSL_get_error(connection.tls, result)) {
    case SSL_ERROR_WANT_READ:
      return ReadState::kIncomplete;
    case SSL_ERROR_WANT_WRITE:
      connection.wants_write = true;
      return ReadState::kIncomplete;
    default:
      Log(LogLevel::kWarn, "connection from {} dropped: TLS handshake failed: {}",
          connection.peer, TlsErrorText());
      return ReadState::kDropped;
  }
}

// Reads at most `size` bytes as recv(MSG_DONTWAIT) does (EAGAIN when none
// are there yet), through TLS on a TLS connection.
long AssociationRequestReader::Receive(Connection& connection, char* buffer, std::size_t size) {
  if (!connection.tls) return ::recv(connection.socket, buffer, size, MSG_DONTWAIT);
  ERR_clear_error();
  const int read = SSL_read(connection.tls, buffer, static_cast<int>(size));
  if (read > 0) return read;
  switch (SSL_get_error(connection.tls, read)) {
    case SSL_ERROR_WANT_WRITE:
      connection.wants_write = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_READ:
      connection.wants_write = false;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      Log(LogLevel::kDebug, "TLS read from {} failed: {}", connection.peer, TlsErrorText());
      errno = EPROTO;
      return -1;
  }
}

// Waits until a connection has bytes (or closes), one is admitted, Stop()
// is called or the earliest deadline passes; then reads what arrived and
// hands every complete request to the handler.
void AssociationRequestReader::PollAndRead() {
  std::vector<pollfd> watched{{wake_fd_, POLLIN, 0}};
  auto earliest = Clock::time_point::max();
  for (const Connection& connection : reading_) {
    watched.push_back(
        {connection.socket, static_cast<short>(connection.wants_write ? POLLOUT : POLLIN), 0});
    earliest = std::min(earliest, connection.deadline);
  }
  int timeout_ms = -1;
  if (earliest != Clock::time_point::max()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(earliest - Clock::now()).count();
    timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
  }
  if (::poll(watched.data(), watched.size(), timeout_ms) < 0) {
    if (errno == EINTR) return;
    throw Error(ErrorCode::kInternal,
                fmt::format("association request reader: poll failed: {}", std::strerror(errno)));
  }
  if (watched[0].revents != 0) {
    std::uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof count);
  }
  // reading_[i] is watched[i + 1]; finished connections leave reading_
  // after the scan, so the indices hold during it.
  std::vector<Connection> complete;
  std::vector<bool> finished(reading_.size(), false);
  for (std::size_t i = 0; i < reading_.size(); ++i) {
    if (watched[i + 1].revents == 0) continue;
    const ReadState state = ReadAvailable(reading_[i]);
    if (state == ReadState::kIncomplete) continue;
    finished[i] = true;
    Finish(reading_[i]);
    if (state == ReadState::kComplete) {
      if (reading_[i].tls) SetNonBlocking(reading_[i].socket, false);
      complete.push_back(std::move(reading_[i]));
    } else {
      Close(reading_[i]);
    }
  }
  std::vector<Connection> still_reading;
  for (std::size_t i = 0; i < reading_.size(); ++i) {
    if (!finished[i]) still_reading.push_back(std::move(reading_[i]));
  }
  reading_ = std::move(still_reading);
  for (Connection& connection : complete) {
    handler_({connection.socket, std::move(connection.peer), std::move(connection.received),
              connection.tls});
  }
}

AssociationRequestReader::ReadState AssociationRequestReader::ReadAvailable(
    Connection& connection) {
  if (connection.tls && !connection.handshake_done) {
    const ReadState handshake = ContinueHandshake(connection);
    if (handshake != ReadState::kComplete) return handshake;
  }
  char buffer[16384];
  for (;;) {
    const std::size_t goal = connection.expected_bytes ? connection.expected_bytes
                                                       : kPduHeaderBytes;
    if (connection.received.size() == goal) {
      if (connection.expected_bytes) return ReadState::kComplete;
      const ReadState header = CheckHeader(connection);
      if (header != ReadState::kIncomplete) return header;
      continue;
    }
    const std::size_t wanted = std::min(goal - connection.received.size(), sizeof buffer);
    const long read = Receive(connection, buffer, wanted);
    if (read > 0) {
      connection.received.append(buffer, static_cast<std::size_t>(read));
      continue;
    }
    if (read < 0 && errno == EINTR) continue;
    if (read < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ReadState::kIncomplete;
    const std::string why =
        read == 0 ? std::string("closed") : fmt::format("failed ({})", std::strerror(errno));
    // A bare connect-and-close (a port probe) is routine; a cut request is not.
    Log(connection.received.empty() ? LogLevel::kDebug : LogLevel::kWarn,
        "connection from {} dropped: it {} after {} bytes of its association request",
        connection.peer, why, connection.received.size());
    return ReadState::kDropped;
  }
}

// Sets expected_bytes from a complete PDU header, or refuses the PDU.
AssociationRequestReader::ReadState AssociationRequestReader::CheckHeader(
    Connection& connection) {
  const auto* header = reinterpret_cast<const unsigned char*>(connection.received.data());
  if (header[0] != kAssociateRequestPduType) {
    Log(LogLevel::kWarn,
        "connection from {} dropped: its first PDU has type 0x{:02x}, not an A-ASSOCIATE-RQ",
        connection.peer, header[0]);
    return ReadState::kDropped;
  }
  const std::uint64_t body = (std::uint64_t{header[2]} << 24) | (std::uint64_t{header[3]} << 16) |
                             (std::uint64_t{header[4]} << 8) | std::uint64_t{header[5]};
  if (kPduHeaderBytes + body > options_.max_request_bytes) {
    Log(LogLevel::kWarn,
        "connection from {} dropped: its A-ASSOCIATE-RQ announces {} bytes, more than the {} "
        "accepted",
        connection.peer, kPduHeaderBytes + body, options_.max_request_bytes);
    return ReadState::kDropped;
  }
  connection.expected_bytes = kPduHeaderBytes + static_cast<std::size_t>(body);
  return connection.received.size() == connection.expected_bytes ? ReadState::kComplete
                                                                  : ReadState::kIncomplete;
}

void AssociationRequestReader::DropExpired() {
  const auto now = Clock::now();
  std::vector<Connection> still_reading;
  for (Connection& connection : reading_) {
    if (connection.deadline > now) {
      still_reading.push_back(std::move(connection));
      continue;
    }
    Log(LogLevel::kWarn,
        "connection from {} dropped: its {}A-ASSOCIATE-RQ did not arrive whole within {} s "
        "({} bytes received)",
        connection.peer,
        connection.tls && !connection.handshake_done ? "TLS handshake and " : "",
        Seconds(options_.deadline), connection.received.size());
    Finish(connection);
    Close(connection);
  }
  reading_ = std::move(still_reading);
}

void AssociationRequestReader::Finish(Connection& connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  --total_;
  const auto found = per_address_.find(connection.peer);
  if (found != per_address_.end() && --found->second <= 0) per_address_.erase(found);
}

void AssociationRequestReader::LogRefusal(const std::string& peer, const std::string& reason) {
  int not_logged = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    if (now - last_refusal_log_ < kRefusalLogInterval) {
      ++refusals_not_logged_;
      return;
    }
    last_refusal_log_ = now;
    not_logged = std::exchange(refusals_not_logged_, 0);
  }
  const std::string more =
      not_logged > 0 ? fmt::format(" ({} more closed since the previous such line)", not_logged)
                     : std::string();
  Log(LogLevel::kWarn, "connection from {} closed at once: {}{}", peer, reason, more);
}

}  // namespace hokan::dicom
