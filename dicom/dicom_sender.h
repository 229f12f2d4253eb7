#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <optional>
#include <vector>

#include "dicom/tls_transport.h"

class DcmDataset;
struct T_ASC_Association;
struct T_ASC_Network;

namespace hokan::dicom {

// The TCP connect timeout of every outgoing association of this process
// (C-MOVE sub-operations, forwarding, Storage Commitment reports): an
// unreachable or black-holed peer fails the association after this long
// instead of after the system's connect timeout (minutes). Once connected,
// a peer that does not answer the A-ASSOCIATE-RQ is bounded by the ACSE
// timeout. Thread-safe; applies from the next association.
inline constexpr int kDefaultConnectTimeoutSeconds = 10;
void SetConnectTimeout(int seconds);
int ConnectTimeoutSeconds();
// Hands the timeout to DCMTK (its process-wide dcmConnectionTimeout, which
// ASC_requestAssociation and DcmSCU use): call before every connect.
void ApplyConnectTimeout();

// Where to send, and as whom.
struct SendTarget {
  std::string calling_ae;  // our AE title
  std::string called_ae;   // the destination's
  std::string host;
  int port = 0;
  int acse_timeout_seconds = 30;
  int dimse_timeout_seconds = 60;
  int max_pdu_bytes = 65536;
  // Set: the association uses DICOM TLS; our certificate and key identify
  // us, the destination's certificate must chain to the trusted ones.
  std::optional<TlsSettings> tls;
};

// What one C-STORE sub-operation did.
struct SendResult {
  bool ok = false;              // status success (0x0000) or warning (0xB…)
  bool warning = false;         // the destination answered a warning status
  std::uint16_t status = 0;     // the destination's status, when it answered
  std::string reason;           // why it failed, for the log
};

// Converts `data_set` (stored in `stored_syntax`) to `target_syntax` with
// DCMTK's registered decoders (RegisterDecoders). Returns "" on success,
// else why it cannot (e.g. no decoder for JPEG 2000).
std::string ConvertForSending(DcmDataset& data_set, const std::string& stored_syntax,
                              const std::string& target_syntax);

// Sends stored DICOM files over one association (C-STORE SCU), as C-MOVE
// and forwarding need. For each SOP class it proposes the file's own
// transfer syntax and, separately, the uncompressed ones; a file goes as it
// is when the destination accepted its syntax (its data set's bytes after
// the meta header read from disk in PDV-sized pieces, never parsed or
// re-encoded; a file whose meta header lacks its group length is loaded
// and encoded again by DCMTK instead), otherwise
// decompressed with DCMTK's JPEG, JPEG-LS and RLE decoders; when neither
// fits, that file fails with the reason. Not thread-safe: one association,
// one thread.
class DicomSender {
 public:
  DicomSender();
  ~DicomSender();  // releases the association if open
  DicomSender(const DicomSender&) = delete;
  DicomSender& operator=(const DicomSender&) = delete;

  // Registers DCMTK's decoders once per process. Call before the first send.
  static void RegisterDecoders();

  // Opens the association. `kinds` lists the (SOP class, stored transfer
  // syntax) pairs to be sent. Returns an empty string on success, else why
  // it failed (unreachable, rejected, nothing accepted).
  std::string Open(const SendTarget& target,
                   const std::vector<std::pair<std::string, std::string>>& kinds);

  // Sends one Part 10 file. `move_originator_ae`/`message_id` identify the
  // C-MOVE it serves (empty/0 for none). The SOP Instance UID is read from
  // the file's meta header. REQUIRES: Open() succeeded.
  SendResult Send(const std::filesystem::path& file, const std::string& sop_class_uid,
                  const std::string& transfer_syntax_uid, const std::string& move_originator_ae,
                  std::uint16_t message_id);
  // The same, for a file whose SOP Instance UID the caller knows.
  SendResult Send(const std::filesystem::path& file, const std::string& sop_class_uid,
                  const std::string& sop_instance_uid, const std::string& transfer_syntax_uid,
                  const std::string& move_originator_ae, std::uint16_t message_id);

  // Sends a data set built in memory (e.g. a derived image), whose pixel
  // data is in `transfer_syntax_uid`: on a context accepted for that
  // syntax, or, for Explicit VR Little Endian, for either uncompressed one.
  // A destination that accepted neither fails the send with the reason.
  // REQUIRES: Open() succeeded.
  SendResult SendDataSet(DcmDataset& data_set, const std::string& sop_class_uid,
                         const std::string& transfer_syntax_uid,
                         const std::string& move_originator_ae, std::uint16_t message_id);

  // A stored data set loaded in memory (stored in `transfer_syntax_uid`):
  // as it is when the destination accepted that syntax, else decompressed
  // to an uncompressed syntax it accepted; Send()'s fallback.
  // REQUIRES: Open() succeeded.
  SendResult SendDecompressed(DcmDataset& data_set, const std::string& sop_class_uid,
                              const std::string& transfer_syntax_uid,
                              const std::string& move_originator_ae, std::uint16_t message_id);

  // Releases the association (no-op when not open).
  void Close();

 private:
  // One C-STORE of `file` (as stored) or `data_set`, on `context`.
  SendResult Store(unsigned char context, const std::string& sop_class_uid,
                   const std::string& sop_instance_uid, const char* file, DcmDataset* data_set,
                   const std::string& move_originator_ae, std::uint16_t message_id);
  // Makes the association being opened use DICOM TLS.
  OFCondition UseTls(const TlsSettings& tls, T_ASC_Parameters* params);
  // The accepted context of `sop_class_uid` in exactly `transfer_syntax_uid`; 0: none.
  unsigned char ContextFor(const std::string& sop_class_uid,
                           const std::string& transfer_syntax_uid) const;

  T_ASC_Network* network_ = nullptr;
  T_ASC_Association* association_ = nullptr;
  std::unique_ptr<DcmTLSTransportLayer, TlsTransportLayerDeleter> tls_layer_;  // TLS targets
  int dimse_timeout_seconds_ = 60;
};

}  // namespace hokan::dicom
