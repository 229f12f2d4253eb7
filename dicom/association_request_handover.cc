#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/association_request_handover.h"

#include "dcmtk/dcmnet/dcmlayer.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmtls/tlstrans.h"

#include <openssl/ssl.h>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "archive/common/error.h"

namespace hokan::dicom {
namespace {

// Guards dcmExternalSocketHandle (process-wide in DCMTK) from setting it to
// restoring it.
std::mutex& ExternalSocketMutex() {
  static std::mutex mutex;
  return mutex;
}

// A DCMTK connection (`Connection`: plain TCP or TLS) whose first reads
// return the bytes already read from its socket (the A-ASSOCIATE-RQ, over
// TLS already decrypted), then read the connection itself.
template <typename Connection>
class PreRead : public Connection {
 public:
  template <typename... ConnectionArguments>
  explicit PreRead(std::string already_read, ConnectionArguments... arguments)
      : Connection(arguments...), already_read_(std::move(already_read)) {}

  ssize_t read(void* buffer, size_t size) override {
    if (Remaining() == 0) return Connection::read(buffer, size);
    const std::size_t count = std::min(size, Remaining());
    std::memcpy(buffer, already_read_.data() + offset_, count);
    offset_ += count;
    if (Remaining() == 0) std::string().swap(already_read_);
    return static_cast<ssize_t>(count);
  }

  OFBool networkDataAvailable(int timeout) override {
    return Remaining() > 0 || Connection::networkDataAvailable(timeout);
  }

 protected:
  std::size_t Remaining() const {
    return already_read_.empty() ? 0 : already_read_.size() - offset_;
  }

 private:
  std::string already_read_;
  std::size_t offset_ = 0;
};

class PreReadConnection : public PreRead<DcmTCPConnection> {
 public:
  PreReadConnection(DcmNativeSocketType socket, std::string already_read)
      : PreRead<DcmTCPConnection>(std::move(already_read), socket) {}

  // DCMTK selects on the socket of a transparent connection; bytes still
  // held here would not wake that select.
  OFBool isTransparentConnection() override {
    return Remaining() == 0 && DcmTCPConnection::isTransparentConnection();
  }
};

// The handshake is done and the request was read (and decrypted) through
// `tls`; DCMTK's TLS connection reads the rest.
class PreReadTlsConnection : public PreRead<DcmTLSConnection> {
 public:
  PreReadTlsConnection(DcmNativeSocketType socket, SSL* tls, std::string already_read)
      : PreRead<DcmTLSConnection>(std::move(already_read), socket, tls) {}
};

}  // namespace

// Creates a PreReadConnection for the one socket Receive hands over.
class PreReadTransportLayer : public DcmTransportLayer {
 public:
  void Expect(int socket, std::string already_read, SSL* tls) {
    socket_ = socket;
    already_read_ = std::move(already_read);
    tls_ = tls;
    taken_ = false;
  }

  // True once DCMTK asked for the expected socket's connection: from then
  // on DCMTK owns (and closes) the socket and the TLS session.
  bool Taken() const { return taken_; }

  DcmTransportConnection* createConnection(DcmNativeSocketType socket,
                                           OFBool use_secure_layer) override {
    if (socket != socket_ || bool(use_secure_layer) != (tls_ != nullptr)) {
      return nullptr;  // DCMTK closes the socket
    }
    taken_ = true;
    if (tls_) return new PreReadTlsConnection(socket, tls_, std::move(already_read_));
    return new PreReadConnection(socket, std::move(already_read_));
  }

 private:
  int socket_ = -1;
  std::string already_read_;
  SSL* tls_ = nullptr;
  bool taken_ = false;
};

AssociationRequestHandover::AssociationRequestHandover(int acse_timeout_seconds)
    : layer_(std::make_unique<PreReadTransportLayer>()) {
  std::lock_guard<std::mutex> lock(ExternalSocketMutex());
  const DcmNativeSocketType previous = dcmExternalSocketHandle.get();
  // With an external socket set, DCMTK's acceptor network opens no
  // listening socket of its own (the value itself is not used here).
  dcmExternalSocketHandle.set(STDERR_FILENO);
  const OFCondition initialized =
      ASC_initializeNetwork(NET_ACCEPTOR, 0, acse_timeout_seconds, &network_);
  dcmExternalSocketHandle.set(previous);
  if (initialized.bad()) {
    network_ = nullptr;
    throw Error(ErrorCode::kInternal,
                fmt::format("cannot set up DCMTK's network for accepted connections: {}",
                            initialized.text()));
  }
  ASC_setTransportLayer(network_, layer_.get(), 0 /* the layer stays ours */);
}

AssociationRequestHandover::~AssociationRequestHandover() {
  if (network_) ASC_dropNetwork(&network_);
}

OFCondition AssociationRequestHandover::Receive(ReceivedRequest request, int max_pdu_bytes,
                                                T_ASC_Association** association) {
  *association = nullptr;
  if (request.socket == 0) {
    // DCMTK takes an external socket only when it is above 0.
    const int moved = ::fcntl(request.socket, F_DUPFD_CLOEXEC, 3);
    ::close(request.socket);
    if (moved < 0) {
      if (request.tls) SSL_free(request.tls);
      return DUL_NETWORKCLOSED;
    }
    request.socket = moved;
    if (request.tls) SSL_set_fd(request.tls, moved);
  }
  std::lock_guard<std::mutex> lock(ExternalSocketMutex());
  layer_->Expect(request.socket, std::move(request.pdu), request.tls);
  const DcmNativeSocketType previous = dcmExternalSocketHandle.get();
  dcmExternalSocketHandle.set(request.socket);
  // The request is whole, so DCMTK's own per-read timeout never applies.
  const OFCondition received = ASC_receiveAssociation(
      network_, association, max_pdu_bytes, nullptr, nullptr,
      request.tls ? OFTrue : OFFalse, DUL_NOBLOCK, 1);
  dcmExternalSocketHandle.set(previous);
  if (!layer_->Taken()) {
    if (request.tls) SSL_free(request.tls);
    ::close(request.socket);
  }
  return received;
}

}  // namespace hokan::dicom
