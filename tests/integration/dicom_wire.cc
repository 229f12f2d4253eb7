#include "tests/integration/dicom_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tests/integration/test_support.h"

namespace hokan::integration {

namespace {

std::uint16_t Le16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) |
                                    static_cast<unsigned char>(s[at + 1]) << 8);
}

std::uint32_t Le32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(Le16(s, at)) | static_cast<std::uint32_t>(Le16(s, at + 2))
                                                       << 16;
}

std::uint16_t Be16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) << 8 |
                                    static_cast<unsigned char>(s[at + 1]));
}

std::uint32_t Be32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(Be16(s, at)) << 16 | Be16(s, at + 2);
}

void PutBe16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void PutBe32(std::string& out, std::uint32_t v) {
  PutBe16(out, static_cast<std::uint16_t>(v >> 16));
  PutBe16(out, static_cast<std::uint16_t>(v & 0xffff));
}

void PutLe16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}

void PutLe32(std::string& out, std::uint32_t v) {
  PutLe16(out, static_cast<std::uint16_t>(v & 0xffff));
  PutLe16(out, static_cast<std::uint16_t>(v >> 16));
}

std::string TrimUid(std::string value) {
  while (!value.empty() && (value.back() == '\0' || value.back() == ' ')) value.pop_back();
  return value;
}

std::string AeField(const std::string& ae) {
  std::string field = ae.substr(0, 16);
  field.resize(16, ' ');
  return field;
}

// Implicit VR little endian command element.
void PutElement(std::string& out, std::uint16_t element, const std::string& value) {
  PutLe16(out, 0x0000);
  PutLe16(out, element);
  PutLe32(out, static_cast<std::uint32_t>(value.size()));
  out += value;
}

std::string UiValue(std::string uid) {
  if (uid.size() % 2 != 0) uid += '\0';
  return uid;
}

std::string UsValue(std::uint16_t v) {
  std::string out;
  PutLe16(out, v);
  return out;
}

std::string CommandWithGroupLength(const std::string& elements) {
  std::string command;
  std::string length;
  PutLe32(length, static_cast<std::uint32_t>(elements.size()));
  PutElement(command, 0x0000, length);
  return command + elements;
}

std::string Item(std::uint8_t type, const std::string& value) {
  std::string out;
  out += static_cast<char>(type);
  out += '\0';
  PutBe16(out, static_cast<std::uint16_t>(value.size()));
  return out + value;
}

std::string EncodePdu(std::uint8_t type, const std::string& body) {
  std::string out;
  out += static_cast<char>(type);
  out += '\0';
  PutBe32(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

}  // namespace

std::string StatusHex(std::uint16_t status) { return fmt::format("0x{:04x}", status); }

Part10File SplitPart10(const std::string& bytes) {
  if (bytes.size() < 132 || bytes.compare(128, 4, "DICM") != 0) {
    throw std::runtime_error("not a Part-10 file (no DICM magic)");
  }
  Part10File file;
  std::size_t at = 132;
  while (at + 8 <= bytes.size() && Le16(bytes, at) == 0x0002) {
    std::uint16_t element = Le16(bytes, at + 2);
    std::string vr = bytes.substr(at + 4, 2);
    std::size_t header = 8;
    std::uint32_t length = 0;
    static const char* kLongVrs[] = {"OB", "OD", "OF", "OL", "OV", "OW",
                                     "SQ", "UC", "UN", "UR", "UT"};
    if (std::any_of(std::begin(kLongVrs), std::end(kLongVrs),
                    [&](const char* v) { return vr == v; })) {
      if (at + 12 > bytes.size()) throw std::runtime_error("meta header cut short");
      header = 12;
      length = Le32(bytes, at + 8);
    } else {
      length = Le16(bytes, at + 6);
    }
    if (at + header + length > bytes.size()) throw std::runtime_error("meta element cut short");
    std::string value = bytes.substr(at + header, length);
    if (element == 0x0002) file.media_storage_sop_class_uid = TrimUid(value);
    if (element == 0x0003) file.media_storage_sop_instance_uid = TrimUid(value);
    if (element == 0x0010) file.transfer_syntax_uid = TrimUid(value);
    at += header + length;
  }
  file.data_set_offset = at;
  file.data_set = bytes.substr(at);
  return file;
}

Part10File ReadPart10(const std::filesystem::path& path) {
  try {
    return SplitPart10(ReadFileBytes(path));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

RawDicomConnection::RawDicomConnection(std::uint16_t port, std::chrono::milliseconds io_timeout,
                                       const std::string& source_address)
    : io_timeout_(io_timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source_address.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source_address.c_str(), &local.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      const int error = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error(
          fmt::format("bind to {}: {}", source_address, std::strerror(error)));
    }
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(fmt::format("connect 127.0.0.1:{}: {}", port, std::strerror(error)));
  }
}

RawDicomConnection::~RawDicomConnection() { Close(); }

void RawDicomConnection::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void RawDicomConnection::SendBytes(std::string_view bytes) {
  if (fd_ < 0) throw std::runtime_error("send on a closed connection");
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("send: {}", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void RawDicomConnection::ReadExactly(char* data, std::size_t size) {
  const auto deadline = std::chrono::steady_clock::now() + io_timeout_;
  std::size_t done = 0;
  while (done < size) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("timeout waiting for data from the peer");
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = ::recv(fd_, data + done, size - done, 0);
    if (n == 0) throw std::runtime_error("the peer closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("recv: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
}

RawDicomConnection::Pdu RawDicomConnection::ReadPdu() {
  std::string header(6, '\0');
  ReadExactly(header.data(), header.size());
  Pdu pdu;
  pdu.type = static_cast<std::uint8_t>(header[0]);
  std::uint32_t length = Be32(header, 2);
  if (length > 64 * 1024 * 1024) throw std::runtime_error("absurd PDU length from the peer");
  pdu.body.resize(length);
  ReadExactly(pdu.body.data(), length);
  return pdu;
}

AssociateOutcome RawDicomConnection::Associate(
    const std::string& calling_ae, const std::string& called_ae,
    const std::vector<PresentationContextProposal>& contexts) {
  std::string body;
  PutBe16(body, 0x0001);  // protocol version
  PutBe16(body, 0x0000);
  body += AeField(called_ae);
  body += AeField(calling_ae);
  body += std::string(32, '\0');
  body += Item(0x10, "1.2.840.10008.3.1.1.1");
  for (const auto& context : contexts) {
    std::string value;
    value += static_cast<char>(context.id);
    value += std::string(3, '\0');
    value += Item(0x30, context.abstract_syntax);
    for (const auto& ts : context.transfer_syntaxes) value += Item(0x40, ts);
    body += Item(0x20, value);
  }
  std::string max_length;
  PutBe32(max_length, 16384);
  std::string user_info = Item(0x51, max_length) +
                          Item(0x52, "2.25.229460186163478526546829046497924372853.2") +
                          Item(0x55, "HOKAN_IT");
  body += Item(0x50, user_info);
  SendBytes(EncodePdu(0x01, body));

  AssociateOutcome outcome;
  Pdu answer;
  try {
    answer = ReadPdu();
  } catch (const std::runtime_error&) {
    outcome.kind = AssociateOutcome::Kind::kClosed;
    return outcome;
  }
  if (answer.type == 0x03 && answer.body.size() >= 4) {
    outcome.kind = AssociateOutcome::Kind::kRejected;
    outcome.reject.result = static_cast<unsigned char>(answer.body[1]);
    outcome.reject.source = static_cast<unsigned char>(answer.body[2]);
    outcome.reject.reason = static_cast<unsigned char>(answer.body[3]);
    return outcome;
  }
  if (answer.type == 0x07) {
    outcome.kind = AssociateOutcome::Kind::kAborted;
    return outcome;
  }
  if (answer.type != 0x02) {
    throw std::runtime_error(
        fmt::format("unexpected PDU type {} answering A-ASSOCIATE-RQ", answer.type));
  }
  outcome.kind = AssociateOutcome::Kind::kAccepted;
  std::size_t at = 68;
  const std::string& b = answer.body;
  while (at + 4 <= b.size()) {
    std::uint8_t type = static_cast<std::uint8_t>(b[at]);
    std::uint16_t length = Be16(b, at + 2);
    std::string value = b.substr(at + 4, length);
    if (type == 0x21 && value.size() >= 4) {
      std::uint8_t id = static_cast<std::uint8_t>(value[0]);
      std::uint8_t result = static_cast<std::uint8_t>(value[2]);
      std::string ts;
      if (value.size() >= 8 && static_cast<std::uint8_t>(value[4]) == 0x40) {
        ts = TrimUid(value.substr(8, Be16(value, 6)));
      }
      if (result == 0) outcome.accepted[id] = ts;
    } else if (type == 0x50) {
      std::size_t sub = 0;
      while (sub + 4 <= value.size()) {
        std::uint8_t sub_type = static_cast<std::uint8_t>(value[sub]);
        std::uint16_t sub_length = Be16(value, sub + 2);
        if (sub_type == 0x51 && sub_length == 4) outcome.peer_max_pdu = Be32(value, sub + 4);
        sub += 4 + sub_length;
      }
    }
    at += 4 + length;
  }
  peer_max_pdu_ =
      outcome.peer_max_pdu == 0 ? 16384 : std::min<std::uint32_t>(outcome.peer_max_pdu, 65536);
  return outcome;
}

void RawDicomConnection::SendPdv(std::uint8_t context_id, bool command, bool last,
                                 std::string_view bytes) {
  std::string item;
  PutBe32(item, static_cast<std::uint32_t>(bytes.size() + 2));
  item += static_cast<char>(context_id);
  item += static_cast<char>((command ? 0x01 : 0x00) | (last ? 0x02 : 0x00));
  item.append(bytes.data(), bytes.size());
  SendBytes(EncodePdu(0x04, item));
}

void RawDicomConnection::SendStoreCommand(std::uint8_t context_id, std::uint16_t message_id,
                                          const std::string& affected_sop_class,
                                          const std::string& affected_sop_instance) {
  std::string elements;
  PutElement(elements, 0x0002, UiValue(affected_sop_class));
  PutElement(elements, 0x0100, UsValue(0x0001));  // C-STORE-RQ
  PutElement(elements, 0x0110, UsValue(message_id));
  PutElement(elements, 0x0700, UsValue(0x0000));  // medium priority
  PutElement(elements, 0x0800, UsValue(0x0000));  // a data set follows
  PutElement(elements, 0x1000, UiValue(affected_sop_instance));
  SendPdv(context_id, true, true, CommandWithGroupLength(elements));
}

void RawDicomConnection::SendDataSet(std::uint8_t context_id, std::string_view bytes, bool last) {
  const std::size_t fragment = peer_max_pdu_ - 6;  // PDV item header: length (4), id, control
  if (bytes.empty()) {
    SendPdv(context_id, false, last, bytes);
    return;
  }
  while (!bytes.empty()) {
    std::string_view piece = bytes.substr(0, fragment);
    bytes.remove_prefix(piece.size());
    SendPdv(context_id, false, last && bytes.empty(), piece);
  }
}

std::uint16_t RawDicomConnection::ReadResponseStatus() {
  std::string command;
  for (;;) {
    Pdu pdu = ReadPdu();
    if (pdu.type == 0x07) throw std::runtime_error("the peer aborted the association (A-ABORT)");
    if (pdu.type == 0x05) throw std::runtime_error("the peer asked to release (A-RELEASE-RQ)");
    if (pdu.type != 0x04) throw std::runtime_error(fmt::format("unexpected PDU type {}", pdu.type));
    std::size_t at = 0;
    bool complete = false;
    while (at + 6 <= pdu.body.size()) {
      std::uint32_t length = Be32(pdu.body, at);
      std::uint8_t control = static_cast<std::uint8_t>(pdu.body[at + 5]);
      if ((control & 0x01) != 0) {
        command += pdu.body.substr(at + 6, length - 2);
        if ((control & 0x02) != 0) complete = true;
      }
      at += 4 + length;
    }
    if (complete) break;
  }
  std::size_t at = 0;
  while (at + 8 <= command.size()) {
    std::uint16_t element = Le16(command, at + 2);
    std::uint32_t length = Le32(command, at + 4);
    if (element == 0x0900 && length == 2) return Le16(command, at + 8);
    at += 8 + length;
  }
  throw std::runtime_error("response command without a Status (0000,0900)");
}

std::uint16_t RawDicomConnection::Store(std::uint8_t context_id, std::uint16_t message_id,
                                        const std::string& affected_sop_class,
                                        const std::string& affected_sop_instance,
                                        std::string_view data_set) {
  SendStoreCommand(context_id, message_id, affected_sop_class, affected_sop_instance);
  SendDataSet(context_id, data_set, true);
  return ReadResponseStatus();
}

std::uint16_t RawDicomConnection::EventReport(std::uint8_t context_id, std::uint16_t message_id,
                                              const std::string& affected_sop_class,
                                              const std::string& affected_sop_instance,
                                              std::uint16_t event_type_id,
                                              std::string_view data_set) {
  std::string elements;
  PutElement(elements, 0x0002, UiValue(affected_sop_class));
  PutElement(elements, 0x0100, UsValue(0x0100));  // N-EVENT-REPORT-RQ
  PutElement(elements, 0x0110, UsValue(message_id));
  PutElement(elements, 0x0800, UsValue(0x0000));  // a data set follows
  PutElement(elements, 0x1000, UiValue(affected_sop_instance));
  PutElement(elements, 0x1002, UsValue(event_type_id));
  SendPdv(context_id, true, true, CommandWithGroupLength(elements));
  SendDataSet(context_id, data_set, true);
  return ReadResponseStatus();
}

std::uint16_t RawDicomConnection::Echo(std::uint8_t context_id, std::uint16_t message_id) {
  std::string elements;
  PutElement(elements, 0x0002, UiValue(kVerificationSopClass));
  PutElement(elements, 0x0100, UsValue(0x0030));  // C-ECHO-RQ
  PutElement(elements, 0x0110, UsValue(message_id));
  PutElement(elements, 0x0800, UsValue(0x0101));  // no data set
  SendPdv(context_id, true, true, CommandWithGroupLength(elements));
  return ReadResponseStatus();
}

void RawDicomConnection::Release() {
  SendBytes(EncodePdu(0x05, std::string(4, '\0')));
  for (;;) {
    Pdu pdu = ReadPdu();
    if (pdu.type == 0x06) break;
    if (pdu.type == 0x07) throw std::runtime_error("A-ABORT instead of A-RELEASE-RP");
  }
  Close();
}

void RawDicomConnection::Abort() {
  try {
    SendBytes(EncodePdu(0x07, std::string(4, '\0')));
  } catch (const std::runtime_error&) {
    // the peer is gone already: nothing to abort
  }
  Close();
}

bool RawDicomConnection::WaitForPeerClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EINTR)) return true;
  }
  return true;
}

}  // namespace hokan::integration
