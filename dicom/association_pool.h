#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dcmtk/dcmnet/assoc.h"

namespace hokan::dicom {

struct AssociationPoolOptions {
  int port = 0;                    // TCP port to listen on
  int workers = 1;                 // associations served at once
  int max_pdu_bytes = 65536;       // largest PDU accepted in an association request
  int acse_timeout_seconds = 30;   // reading one request takes at most this, and at most 10 s
};

// Serves one association handed over by AssociationPool, on a worker thread.
// It owns the association: it either ends it (RejectAssociation if needed,
// then DropAndDestroyAssociation) or hands it to DcmThreadSCP::run, which
// frees it. REQUIRES: does not throw.
using ServeAssociationFunction = std::function<void(T_ASC_Association* association)>;

// A DICOM acceptor: one thread (the caller of Serve) accepts associations on
// a port and hands each to one of `workers` worker threads, which calls the
// serve function with it. When every worker is busy the request is rejected
// (transient, local limit exceeded) and logged. Nagle's algorithm is off on
// every association socket. Up to `workers` serve calls run at once.
class AssociationPool {
 public:
  AssociationPool(AssociationPoolOptions options, ServeAssociationFunction serve);
  // Stops, drops the associations not yet handed to a worker and waits for
  // the running serve calls to return.
  ~AssociationPool();
  AssociationPool(const AssociationPool&) = delete;
  AssociationPool& operator=(const AssociationPool&) = delete;

  // Opens the listening port and starts the workers. Throws
  // hokan::Error(kConfiguration) when the port cannot be opened (in use, no
  // permission).
  void Open();

  // Accepts associations until Stop(). REQUIRES: Open() succeeded.
  void Serve();

  // Asks Serve() to return within about a second; safe from any thread (not
  // from a signal handler).
  void Stop();

 private:
  void AcceptOne();
  void WorkerLoop();

  const AssociationPoolOptions options_;
  const ServeAssociationFunction serve_;
  T_ASC_Network* network_ = nullptr;

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

// Answers the association request with an A-ASSOCIATE-RJ; the association
// still has to be dropped and destroyed.
void RejectAssociation(T_ASC_Association* association, T_ASC_RejectParametersResult result,
                       T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason);

// Closes the association's connection and frees it; nullptr is allowed.
void DropAndDestroyAssociation(T_ASC_Association* association);

}  // namespace hokan::dicom
