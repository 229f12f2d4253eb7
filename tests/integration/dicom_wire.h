#pragma once

// DICOM at the byte level, for tests that need what DCMTK's tools will not
// do: send a request whose UIDs disagree with its data set, cut a data set
// short, hold an association open, or leave in the middle of a transfer.
// Also: splitting a Part-10 file into its meta header and data set.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hokan::integration {

using namespace std::chrono_literals;

inline constexpr char kExplicitVrLittleEndian[] = "1.2.840.10008.1.2.1";
inline constexpr char kImplicitVrLittleEndian[] = "1.2.840.10008.1.2";
inline constexpr char kCtImageStorage[] = "1.2.840.10008.5.1.4.1.1.2";
inline constexpr char kMrImageStorage[] = "1.2.840.10008.5.1.4.1.1.4";
inline constexpr char kVerificationSopClass[] = "1.2.840.10008.1.1";

// A Part-10 file: 128-byte preamble, "DICM", the group 0002 meta elements
// (always explicit VR little endian), then the data set.
struct Part10File {
  std::string media_storage_sop_class_uid;     // (0002,0002), trailing NUL/space removed
  std::string media_storage_sop_instance_uid;  // (0002,0003)
  std::string transfer_syntax_uid;             // (0002,0010)
  std::size_t data_set_offset = 0;             // first byte after the meta group
  std::string data_set;                        // bytes from data_set_offset to the end
};

// Reads and splits `path`. Throws std::runtime_error when it has no "DICM"
// magic or its meta group is malformed.
Part10File ReadPart10(const std::filesystem::path& path);

// Splits bytes already in memory; same contract as ReadPart10.
Part10File SplitPart10(const std::string& bytes);

// A-ASSOCIATE-RJ fields (PS3.8 9.3.4).
struct AssociateReject {
  int result = 0;  // 1 rejected-permanent, 2 rejected-transient
  int source = 0;  // 1 service user, 2 provider (ACSE), 3 provider (presentation)
  int reason = 0;  // source 1: 3 calling AE not recognized, 7 called AE not recognized; source 3: 2
                   // local limit exceeded
};

struct PresentationContextProposal {
  std::uint8_t id = 1;  // odd, 1..255
  std::string abstract_syntax;
  std::vector<std::string> transfer_syntaxes;
};

struct AssociateOutcome {
  enum class Kind { kAccepted, kRejected, kAborted, kClosed };
  Kind kind = Kind::kClosed;
  AssociateReject reject;                        // when kRejected
  std::map<std::uint8_t, std::string> accepted;  // context id -> transfer syntax (result 0 only)
  std::uint32_t peer_max_pdu = 0;                // 0 = unlimited
};

// One TCP connection to 127.0.0.1:port speaking raw DICOM upper layer,
// from `source_address` (e.g. 127.0.0.2; "" = the system's choice).
// Every read waits at most the I/O timeout and then throws. Writes never
// raise SIGPIPE (a closed peer makes them throw). The socket is closed on
// destruction. Not thread-safe; not copyable.
class RawDicomConnection {
 public:
  // Connects; throws std::runtime_error when the connection is refused.
  explicit RawDicomConnection(std::uint16_t port, std::chrono::milliseconds io_timeout = 30s,
                              const std::string& source_address = "");
  ~RawDicomConnection();
  RawDicomConnection(const RawDicomConnection&) = delete;
  RawDicomConnection& operator=(const RawDicomConnection&) = delete;

  // Writes bytes as they are (for garbage input).
  void SendBytes(std::string_view bytes);

  // Sends A-ASSOCIATE-RQ (max PDU 16384) and reads the answer.
  AssociateOutcome Associate(const std::string& calling_ae, const std::string& called_ae,
                             const std::vector<PresentationContextProposal>& contexts);

  // Sends a C-STORE-RQ command on context `context_id`.
  void SendStoreCommand(std::uint8_t context_id, std::uint16_t message_id,
                        const std::string& affected_sop_class,
                        const std::string& affected_sop_instance);

  // Sends `bytes` as data set PDVs, split to the peer's max PDU; the last
  // fragment carries the "last" flag when `last` is true.
  void SendDataSet(std::uint8_t context_id, std::string_view bytes, bool last = true);

  // Reads PDUs until a whole DIMSE command arrives and returns its Status
  // (0000,0900). Throws std::runtime_error when the peer aborts, releases,
  // closes or the timeout passes first (the message says which).
  std::uint16_t ReadResponseStatus();

  // SendStoreCommand + SendDataSet + ReadResponseStatus.
  std::uint16_t Store(std::uint8_t context_id, std::uint16_t message_id,
                      const std::string& affected_sop_class,
                      const std::string& affected_sop_instance, std::string_view data_set);

  // N-EVENT-REPORT-RQ on `context_id` with `data_set` (encoded in the
  // context's transfer syntax); returns the response status.
  std::uint16_t EventReport(std::uint8_t context_id, std::uint16_t message_id,
                            const std::string& affected_sop_class,
                            const std::string& affected_sop_instance,
                            std::uint16_t event_type_id, std::string_view data_set);

  // C-ECHO-RQ on `context_id`; returns the response status.
  std::uint16_t Echo(std::uint8_t context_id, std::uint16_t message_id);

  // A-RELEASE-RQ, then waits for A-RELEASE-RP. Throws if it does not come.
  void Release();

  // Sends A-ABORT (source: service user) and closes.
  void Abort();

  // Closes the socket without any DICOM goodbye (what a killed SCU does).
  void Close();

  // Reads and discards until the peer closes the connection (→ true) or
  // `timeout` passes (→ false).
  bool WaitForPeerClose(std::chrono::milliseconds timeout);

 private:
  struct Pdu {
    std::uint8_t type = 0;
    std::string body;
  };
  Pdu ReadPdu();
  void ReadExactly(char* data, std::size_t size);
  void SendPdv(std::uint8_t context_id, bool command, bool last, std::string_view bytes);

  int fd_ = -1;
  std::chrono::milliseconds io_timeout_;
  std::uint32_t peer_max_pdu_ = 16384;
};

// A readable name for a status, e.g. "0xc010".
std::string StatusHex(std::uint16_t status);

}  // namespace hokan::integration
