#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/association_pool.h"

#include "dcmtk/dcmdata/dcobject.h"
#include "dcmtk/dcmnet/cond.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmtls/tlslayer.h"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::dicom {
namespace {

std::string Trimmed(const char* text) {
  std::string value(text ? text : "");
  const auto last = value.find_last_not_of(' ');
  value.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = value.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : value.substr(first);
}

// A TCP socket listening on `port` on every IPv4 address.
int OpenListeningSocket(int port) {
  const int listening = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listening < 0) {
    throw Error(ErrorCode::kConfiguration,
                fmt::format("cannot listen on port {}: socket: {}", port, std::strerror(errno)));
  }
  const int reuse = 1;
  ::setsockopt(listening, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(listening, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listening, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(listening);
    throw Error(ErrorCode::kConfiguration,
                fmt::format("cannot listen on port {}: {}", port, std::strerror(error)));
  }
  return listening;
}

}  // namespace

AssociationParties PartiesOf(const T_ASC_Association& association) {
  const DUL_ASSOCIATESERVICEPARAMETERS& request = association.params->DULparams;
  return {Trimmed(request.callingAPTitle), Trimmed(request.calledAPTitle),
          Trimmed(request.callingPresentationAddress)};
}

bool IsTlsAssociation(const T_ASC_Association& association) {
  return association.params->DULparams.useSecureLayer;
}

void RejectAssociation(T_ASC_Association* association, T_ASC_RejectParametersResult result,
                       T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason) {
  T_ASC_RejectParameters parameters;
  parameters.result = result;
  parameters.source = source;
  parameters.reason = reason;
  ASC_rejectAssociation(association, &parameters);
}

void DropAndDestroyAssociation(T_ASC_Association* association) {
  if (!association) return;
  ASC_dropAssociation(association);
  ASC_destroyAssociation(&association);
}

AssociationPool::AssociationPool(AssociationPoolOptions options, ServeAssociationFunction serve)
    : options_(options), serve_(std::move(serve)) {}

AssociationPool::~AssociationPool() {
  Stop();
  if (reader_thread_.joinable()) reader_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (T_ASC_Association* association : waiting_) DropAndDestroyAssociation(association);
    waiting_.clear();
  }
  work_available_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  reader_.reset();  // closes the half-open connections
  handover_.reset();
  tls_layer_.reset();
  if (listening_socket_ >= 0) ::close(listening_socket_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void AssociationPool::Open() {
  // DCMTK reads TCP_NODELAY when it takes over each association socket;
  // without it Debian's 3.6.7 leaves Nagle on, which stalls every response
  // by ~40 ms.
  ::setenv("TCP_NODELAY", "1", 1);
  dcmDisableGethostbyaddr.set(OFTrue);
  dcmEnableAutomaticInputDataCorrection.set(OFFalse);

  handover_ = std::make_unique<AssociationRequestHandover>(options_.acse_timeout_seconds);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    throw Error(ErrorCode::kInternal,
                fmt::format("association pool: eventfd failed: {}", std::strerror(errno)));
  }
  listening_socket_ = OpenListeningSocket(options_.port);

  AssociationRequestReaderOptions reader_options;
  reader_options.deadline = std::chrono::seconds(options_.request_deadline_seconds);
  reader_options.max_per_address = options_.max_half_open_per_address;
  reader_options.max_total = options_.max_half_open_connections;
  reader_options.max_request_bytes = dcmAssociatePDUSizeLimit.get();
  if (options_.tls) {
    tls_layer_.reset(MakeTlsTransportLayer(*options_.tls, NET_ACCEPTOR).release());
    reader_options.tls_context = tls_layer_->getNativeHandle();
  }
  reader_ = std::make_unique<AssociationRequestReader>(
      reader_options, [this](ReceivedRequest request) { StartAssociation(std::move(request)); });
  reader_thread_ = std::thread([this] { RunReader(); });

  idle_workers_ = options_.workers;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void AssociationPool::Serve() {
  while (!stopping_) AcceptOne();
  Log(LogLevel::kInfo, "stopped accepting associations; waiting for running ones to end");
}

void AssociationPool::Stop() {
  stopping_ = true;
  if (reader_) reader_->Stop();
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  work_available_.notify_all();
}

// Waits for one connection (or Stop) and hands it to the reader; never
// reads from a peer.
void AssociationPool::AcceptOne() {
  pollfd watched[] = {{listening_socket_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  if (::poll(watched, 2, -1) < 0 || (watched[0].revents & POLLIN) == 0) return;
  sockaddr_in from{};
  socklen_t from_size = sizeof from;
  const int socket = ::accept4(listening_socket_, reinterpret_cast<sockaddr*>(&from),
                               &from_size, SOCK_CLOEXEC);
  if (socket < 0) {
    const int error = errno;
    if (error == EINTR || error == EAGAIN || error == ECONNABORTED) return;
    Log(LogLevel::kError, "cannot accept a connection on port {}: {}", options_.port,
        std::strerror(error));
    // Out of descriptors or memory: back off briefly instead of spinning on
    // the still-readable listening socket (Stop still wakes this wait).
    pollfd wake{wake_fd_, POLLIN, 0};
    ::poll(&wake, 1, 100);
    return;
  }
  char address[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &from.sin_addr, address, sizeof address);
  reader_->Admit(socket, address);
}

void AssociationPool::RunReader() {
  try {
    reader_->Run();
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "association request reader failed, no more associations: {}",
        e.what());
    Stop();
  }
}

// On the reader thread, with a request that arrived whole: DCMTK parses it,
// then a worker serves it or it is rejected as over the limit.
void AssociationPool::StartAssociation(ReceivedRequest request) {
  const std::string peer = request.peer;
  T_ASC_Association* association = nullptr;
  const OFCondition received =
      handover_->Receive(std::move(request), options_.max_pdu_bytes, &association);
  if (received.bad()) {
    Log(LogLevel::kWarn, "connection from {} dropped: not a valid association request: {}", peer,
        received.text());
    DropAndDestroyAssociation(association);
    return;
  }
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_workers_ > 0) {
      --idle_workers_;
      waiting_.push_back(association);
      queued = true;
    }
  }
  if (queued) {
    work_available_.notify_one();
    return;
  }
  Log(LogLevel::kWarn,
      "association from {} rejected: all {} association slots are busy (local limit exceeded)",
      PartiesOf(*association).calling_ae, options_.workers);
  RejectAssociation(association, ASC_RESULT_REJECTEDTRANSIENT,
                    ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                    ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
  DropAndDestroyAssociation(association);
}

void AssociationPool::WorkerLoop() {
  for (;;) {
    T_ASC_Association* association = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_available_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping
      association = waiting_.front();
      waiting_.pop_front();
    }
    try {
      serve_(association);
    } catch (const std::exception& error) {
      // The serve function owns the association and is not meant to throw;
      // if it does, this worker logs it and serves on rather than ending
      // the program (the association is not touched again: its owner may
      // already have released it).
      Log(LogLevel::kError, "port {}: serving an association failed: {}", options_.port,
          error.what());
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++idle_workers_;
    }
  }
}

}  // namespace hokan::dicom
