#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <memory>

#include "dcmtk/dcmnet/assoc.h"
#include "dicom/association_request_reader.h"

namespace hokan::dicom {

class PreReadTransportLayer;

// Turns a connection whose A-ASSOCIATE-RQ has already arrived whole
// (ReceivedRequest) into a DCMTK association, as ASC_receiveAssociation
// does for a connection it accepts itself: DCMTK parses the request from
// the bytes already read, then owns the socket and reads everything after
// the request from it as usual. Never waits on the peer. Thread-safe.
//
// How: DCMTK 3.6.7 takes an already-connected socket only through the
// process-wide dcmExternalSocketHandle, which it reads on every receive, so
// Receive sets it, receives and restores it under one process-wide mutex;
// the connection DCMTK creates for the socket first returns the bytes
// already read. A request read on a TLS port comes with its TLS session
// (handshake done): DCMTK gets a TLS connection on that session whose first
// reads return the decrypted request. No DCMTK acceptor in the process may use its own listening
// socket while Receive runs (AssociationPool accepts with its own socket).
class AssociationRequestHandover {
 public:
  // Throws hokan::Error(kInternal) when DCMTK cannot set up its network.
  explicit AssociationRequestHandover(int acse_timeout_seconds);
  ~AssociationRequestHandover();
  AssociationRequestHandover(const AssociationRequestHandover&) = delete;
  AssociationRequestHandover& operator=(const AssociationRequestHandover&) = delete;

  // Returns DCMTK's result of receiving the request. *association is set
  // whenever DCMTK created one, also on failure (then drop and destroy it);
  // it owns the socket. The socket is closed on every path where DCMTK did
  // not take it.
  OFCondition Receive(ReceivedRequest request, int max_pdu_bytes,
                      T_ASC_Association** association);

 private:
  std::unique_ptr<PreReadTransportLayer> layer_;
  T_ASC_Network* network_ = nullptr;
};

}  // namespace hokan::dicom
