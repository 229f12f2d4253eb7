#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace hokan::dicom {

struct AssociationRequestReaderOptions {
  // The whole A-ASSOCIATE-RQ must have arrived this long after the
  // connection was accepted; the clock does not restart with each byte.
  std::chrono::milliseconds deadline{std::chrono::seconds(10)};
  // Connections from one peer address whose request is still incomplete.
  int max_per_address = 16;
  // The same over all addresses (bounds open sockets and buffered bytes).
  int max_total = 256;
  // A request announcing a longer PDU is refused before its body is read.
  std::size_t max_request_bytes = 1 << 20;
  // DICOM TLS port: each connection's TLS handshake is done first, under
  // the same deadline and without blocking, with a session from this
  // context; the request is then read through TLS. Null: plain TCP. Not
  // owned; must outlive the reader.
  ssl_ctx_st* tls_context = nullptr;
};

// A connection whose first PDU, an A-ASSOCIATE-RQ, has arrived whole.
struct ReceivedRequest {
  int socket = -1;   // the connected socket; the handler owns it
  std::string peer;  // the caller's address, e.g. "192.0.2.7"
  std::string pdu;   // the whole PDU as received: 6-byte header, then body
  // On a TLS port: the TLS session on `socket`, handshake done (the socket
  // is blocking again). The handler owns it like the socket. Null: plain.
  ssl_st* tls = nullptr;
};

// Called on the reader thread with each request that arrived in time; takes
// over the socket. REQUIRES: does not throw and does not block on the
// network (it may write a few bytes, e.g. an A-ASSOCIATE-RJ).
using ReceivedRequestHandler = std::function<void(ReceivedRequest request)>;

// Reads the first PDU of many accepted connections at once, on one thread
// (the caller of Run), without ever waiting on one peer: each connection's
// bytes are read as they come, and a connection is closed (and logged once,
// with its address) when its whole A-ASSOCIATE-RQ has not arrived by the
// deadline, when it closes first, or when its first PDU is not an
// A-ASSOCIATE-RQ of at most max_request_bytes. With a TLS context the TLS
// handshake comes first, within the same deadline (a failed handshake, e.g.
// an untrusted client certificate, closes the connection). Connections whose request is
// incomplete ("half-open") are limited per peer address and overall: a new
// connection over a limit is closed at once, logged at most every 10 s.
// Thread-safe: Admit and Stop may be called from any thread.
class AssociationRequestReader {
 public:
  AssociationRequestReader(AssociationRequestReaderOptions options,
                           ReceivedRequestHandler handler);
  // Closes the connections not handed to the handler. REQUIRES: Run has
  // returned (or was never called).
  ~AssociationRequestReader();
  AssociationRequestReader(const AssociationRequestReader&) = delete;
  AssociationRequestReader& operator=(const AssociationRequestReader&) = delete;

  // Takes a freshly accepted connection from `peer`. Returns false, with the
  // socket closed, when `peer` or all peers already have their limit of
  // incomplete requests (or after Stop).
  bool Admit(int socket, const std::string& peer);

  // Reads requests and hands them to the handler until Stop().
  void Run();

  // Makes Run return soon; safe from any thread.
  void Stop();

 private:
  struct Connection {
    int socket = -1;
    std::string peer;
    std::chrono::steady_clock::time_point deadline;
    std::size_t expected_bytes = 0;  // the whole PDU's, once its header is in
    std::string received;
    ssl_st* tls = nullptr;        // TLS port only
    bool handshake_done = false;  // TLS port only
    bool wants_write = false;     // TLS: OpenSSL waits to write, not to read
  };
  enum class ReadState { kIncomplete, kComplete, kDropped };

  void PollAndRead();
  void TakeAdmitted();
  ReadState ReadAvailable(Connection& connection);
  ReadState CheckHeader(Connection& connection);
  ReadState ContinueHandshake(Connection& connection);
  long Receive(Connection& connection, char* buffer, std::size_t size);
  static void Close(Connection& connection);
  void DropExpired();
  void Finish(Connection& connection);
  void LogRefusal(const std::string& peer, const std::string& reason);

  const AssociationRequestReaderOptions options_;
  const ReceivedRequestHandler handler_;
  int wake_fd_ = -1;  // eventfd: Admit and Stop wake Run's poll

  std::mutex mutex_;  // guards the members below
  bool stopping_ = false;
  std::vector<Connection> admitted_;       // accepted, not yet seen by Run
  std::map<std::string, int> per_address_;  // incomplete requests by peer
  int total_ = 0;
  std::chrono::steady_clock::time_point last_refusal_log_{};
  int refusals_not_logged_ = 0;

  std::vector<Connection> reading_;  // Run's thread only
};

}  // namespace hokan::dicom
