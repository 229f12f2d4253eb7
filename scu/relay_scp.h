#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/scpcfg.h"

#include "dicom/association_pool.h"
#include "scu/archive_peer.h"
#include "scu/relay_config.h"
#include "scu/spool_store.h"

class DcmDataset;

namespace hokan::relay {

// What other parts of the relay do with the DICOM traffic the SCP receives.
// Every hook is optional, is called on an association's thread and must not
// throw.
struct RelayScpHooks {
  // An instance was spooled (e.g. Forwarder::Notify).
  std::function<void()> spooled;
  // N-EVENT-REPORT (Storage Commitment Push Model) from `calling_ae` (the
  // archive): returns the status to answer. Unset: answered 0x0110.
  std::function<std::uint16_t(const std::string& calling_ae, std::uint16_t event_type_id,
                              DcmDataset& event_information)>
      commitment_report;
  // N-ACTION (Request Storage Commitment, action type 1) from a modality:
  // returns the status to answer. Unset: answered 0x0110.
  std::function<std::uint16_t(const std::string& calling_ae, DcmDataset& action_information)>
      commitment_request;
};

// The relay's DICOM front door, on config.port as config.ae_title. Admits
// associations called to our AE title from the modality AE titles, the
// archive (its commitment reports: the archive's AE title from the
// archive's address, over TLS with [archive] tls; ArchivePeerCheck) and the
// pull PACS's AE title (C-MOVE sub-operations); rejects others at
// association (calling AE title not recognised). An N-EVENT-REPORT from
// anyone but the archive is refused with 0x0124 and changes nothing. Serves C-ECHO;
// C-STORE of every storage SOP class in the usual transfer syntaxes (from
// modalities and the pull PACS only), spooling bit-preserving through
// SpoolStore and answering success only once the instance is durably
// queued, 0xC000 for a data set that cannot be parsed, 0xA700 when the
// spool volume is under min_free_bytes or a write fails (the server keeps
// running); and the Storage Commitment Push Model SOP class
// (1.2.840.10008.1.20.1) in both roles, N-ACTION and N-EVENT-REPORT going to
// the hooks. One thread accepts; a fixed pool of workers serves. With
// [relay] tls_port a second pool accepts DICOM TLS there the same way.
class RelayServer {
 public:
  RelayServer(const RelayConfig& config, SpoolStore& store, RelayScpHooks hooks);
  ~RelayServer();  // Stop()s and joins every thread
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  // Replaces the hooks; call before Serve().
  void SetHooks(RelayScpHooks hooks) { hooks_ = std::move(hooks); }

  // Opens the port. Throws hokan::Error(kConfiguration) when it cannot.
  void Open();
  // Accepts associations until Stop(), then waits for running ones.
  void Serve();
  // Asks Serve() to return; safe from any thread.
  void Stop();

 private:
  void ServeAssociation(T_ASC_Association* association);

  const RelayConfig& config_;
  SpoolStore& store_;
  RelayScpHooks hooks_;
  DcmSharedSCPConfig scp_config_;
  ArchivePeerCheck archive_peer_;  // who may report storage commitment
  dicom::AssociationPool pool_;  // its workers use the members above until it is destroyed
  std::unique_ptr<dicom::AssociationPool> tls_pool_;  // with [relay] tls_port
  std::thread tls_accepting_thread_;                  // runs tls_pool_->Serve()
};

}  // namespace hokan::relay
