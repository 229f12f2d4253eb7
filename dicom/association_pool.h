#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dcmtk/dcmnet/assoc.h"
#include "dicom/association_request_handover.h"
#include "dicom/association_request_reader.h"
#include "dicom/tls_transport.h"

namespace hokan::dicom {

struct AssociationPoolOptions {
  int port = 0;                    // TCP port to listen on (all IPv4 addresses)
  int workers = 1;                 // associations served at once
  int max_pdu_bytes = 65536;       // largest PDU accepted in an association request
  int acse_timeout_seconds = 30;   // DCMTK's ACSE timeout once an association is served
  // The whole A-ASSOCIATE-RQ must arrive within this many seconds of the
  // connection being accepted.
  int request_deadline_seconds = 10;
  // Connections from one address whose A-ASSOCIATE-RQ is still incomplete.
  int max_half_open_per_address = 16;
  // Set: a DICOM TLS port (PS3.15 Annex B). Each connection's TLS handshake
  // is done by the reader, without blocking, within the same request
  // deadline; the request is then read through TLS and the association
  // runs over it. Open() throws hokan::Error(kConfiguration) when the
  // certificate, key, trusted certificates or profile cannot be used.
  std::optional<TlsSettings> tls;
  // Connections over all addresses whose A-ASSOCIATE-RQ is still incomplete.
  int max_half_open_connections = 256;
};

// Serves one association handed over by AssociationPool, on a worker thread.
// It owns the association: it either ends it (RejectAssociation if needed,
// then DropAndDestroyAssociation) or hands it to DcmThreadSCP::run, which
// frees it. REQUIRES: does not throw.
using ServeAssociationFunction = std::function<void(T_ASC_Association* association)>;

// A DICOM acceptor on a port. What it promises:
// - No client delays another. The accepting thread (the caller of Serve)
//   only accepts TCP connections; a separate reader thread reads every
//   connection's A-ASSOCIATE-RQ as its bytes come, waiting on no single
//   peer (AssociationRequestReader). A connection whose whole request has
//   not arrived request_deadline_seconds after it was accepted (however
//   its bytes trickle in) is closed and logged once, with its address.
// - A connection whose request is incomplete is "half-open". Each peer
//   address may have max_half_open_per_address of them, and all addresses
//   together max_half_open_connections; a connection beyond either limit is
//   closed as soon as it is accepted (logged at most every 10 s).
// - A complete request becomes a DCMTK association (parsed by DCMTK) and
//   goes to one of `workers` worker threads, which calls the serve function
//   with it; when every worker is busy it is rejected (transient, local
//   limit exceeded) and logged. Up to `workers` serve calls run at once.
// - Nagle's algorithm is off on every association socket.
// - No exception escapes its threads: if the reader fails, it is logged and
//   the pool stops (Serve returns); a serve call that throws is logged and
//   its worker serves on (the serve function owns the association and
//   should not throw).
class AssociationPool {
 public:
  AssociationPool(AssociationPoolOptions options, ServeAssociationFunction serve);
  // Stops, closes the connections not yet handed to a worker and waits for
  // the running serve calls to return.
  ~AssociationPool();
  AssociationPool(const AssociationPool&) = delete;
  AssociationPool& operator=(const AssociationPool&) = delete;

  // Opens the listening port and starts the reader and the workers. Throws
  // hokan::Error(kConfiguration) when the port cannot be opened (in use, no
  // permission).
  void Open();

  // Accepts connections until Stop(). REQUIRES: Open() succeeded.
  void Serve();

  // Makes Serve() return soon; safe from any thread (not from a signal
  // handler).
  void Stop();

 private:
  void AcceptOne();
  void RunReader();
  void StartAssociation(ReceivedRequest request);
  void WorkerLoop();

  const AssociationPoolOptions options_;
  const ServeAssociationFunction serve_;
  int listening_socket_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop wakes the accepting thread
  std::unique_ptr<DcmTLSTransportLayer, TlsTransportLayerDeleter> tls_layer_;
  std::unique_ptr<AssociationRequestHandover> handover_;
  std::unique_ptr<AssociationRequestReader> reader_;
  std::thread reader_thread_;

  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable work_available_;
  std::deque<T_ASC_Association*> waiting_;
  int idle_workers_ = 0;
  std::vector<std::thread> workers_;
};

// The parties named in an association request, without DICOM's padding.
struct AssociationParties {
  std::string calling_ae;  // calling AE title
  std::string called_ae;   // called AE title
  std::string peer;        // the caller's network address
};
AssociationParties PartiesOf(const T_ASC_Association& association);

// True when the association runs over DICOM TLS (it came in on a TLS port).
bool IsTlsAssociation(const T_ASC_Association& association);

// Answers the association request with an A-ASSOCIATE-RJ; the association
// still has to be dropped and destroyed.
void RejectAssociation(T_ASC_Association* association, T_ASC_RejectParametersResult result,
                       T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason);

// Closes the association's connection and frees it; nullptr is allowed.
void DropAndDestroyAssociation(T_ASC_Association* association);

}  // namespace hokan::dicom
