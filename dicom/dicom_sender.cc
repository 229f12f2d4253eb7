#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/dicom_sender.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcostrma.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmtls/tlslayer.h"
#include "dcmtk/ofstd/ofstd.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <string_view>
#include <vector>

#include "archive/common/posix_file.h"

namespace hokan::dicom {
namespace {

std::atomic<int> connect_timeout_seconds{kDefaultConnectTimeoutSeconds};

// Presentation contexts one association may carry (PS3.8: odd IDs 1-255).
constexpr std::size_t kMaxPresentationContexts = 128;

const char* kUncompressed[] = {UID_LittleEndianExplicitTransferSyntax,
                               UID_LittleEndianImplicitTransferSyntax};

// Proposes, per SOP class, each stored syntax and once the uncompressed
// ones, up to the limit of contexts.
OFCondition ProposeContexts(T_ASC_Parameters* params,
                            const std::vector<std::pair<std::string, std::string>>& kinds) {
  std::set<std::pair<std::string, std::string>> proposed;
  std::set<std::string> classes_with_uncompressed;
  std::size_t contexts = 0;
  auto add = [&](const std::string& sop_class, const char** syntaxes, int count) {
    const auto id = static_cast<T_ASC_PresentationContextID>(2 * contexts + 1);
    ++contexts;
    return ASC_addPresentationContext(params, id, sop_class.c_str(), syntaxes, count);
  };
  for (const auto& [sop_class, syntax] : kinds) {
    if (proposed.insert({sop_class, syntax}).second && contexts < kMaxPresentationContexts) {
      const char* own[] = {syntax.c_str()};
      const OFCondition added = add(sop_class, own, 1);
      if (added.bad()) return added;
    }
    if (classes_with_uncompressed.insert(sop_class).second &&
        contexts < kMaxPresentationContexts) {
      const OFCondition added = add(sop_class, kUncompressed, 2);
      if (added.bad()) return added;
    }
  }
  return EC_Normal;
}

// The SOP Instance UID in a Part 10 file's meta header ("" when absent).
std::string MetaSopInstanceUid(const std::filesystem::path& file) {
  DcmMetaInfo meta;
  if (meta.loadFile(file.c_str()).bad()) return {};
  OFString uid;
  meta.findAndGetOFString(DCM_MediaStorageSOPInstanceUID, uid);
  return uid.c_str();
}

// The data set of a Part 10 file as its bytes after the meta header, for
// DIMSE to send as they are: DCMTK 3.6.7 would otherwise parse the whole
// file (DcmFileFormat::loadFile), then encode it again element by element,
// reading the pixel data from the file once more. DIMSE asks write() for
// the next bytes until it answers EC_Normal; each call fills what the PDV
// buffer has room for (EC_StreamNotifyClient: call again). Usable only
// when the file's transfer syntax is the context's (the caller checks).
class StoredDataSet : public DcmDataset {
 public:
  // Opens `file`; ok() is false when it cannot be sent this way (cannot be
  // read, no meta header group length, odd or empty data set), and then
  // the caller lets DCMTK load the file instead.
  explicit StoredDataSet(const std::filesystem::path& file)
      : fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_.get() < 0) return;
    // Preamble (128), "DICM", then (0002,0000) UL, explicit VR little endian.
    unsigned char head[144];
    if (::pread(fd_.get(), head, sizeof head, 0) != static_cast<ssize_t>(sizeof head)) return;
    static const unsigned char kGroupLength[] = {0x02, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00};
    if (std::string_view(reinterpret_cast<char*>(head + 128), 4) != "DICM" ||
        !std::equal(std::begin(kGroupLength), std::end(kGroupLength), head + 132)) {
      return;
    }
    const off_t meta_length = head[140] | head[141] << 8 | head[142] << 16 |
                              static_cast<off_t>(head[143]) << 24;
    const off_t file_size = ::lseek(fd_.get(), 0, SEEK_END);
    start_ = 144 + meta_length;
    if (file_size < 0 || start_ >= file_size || (file_size - start_) % 2 != 0) return;
    end_ = file_size;
    ok_ = true;
  }

  bool ok() const { return ok_; }
  // Why the last write() failed ("" when none did).
  const std::string& error() const { return error_; }

  OFBool isEmpty(const OFBool /*normalize*/) override { return OFFalse; }
  OFBool canWriteXfer(const E_TransferSyntax /*new_xfer*/,
                      const E_TransferSyntax /*old_xfer*/) override {
    return OFTrue;
  }
  void transferInit() override { position_ = start_; }
  void transferEnd() override {}

  OFCondition write(DcmOutputStream& out, const E_TransferSyntax /*oxfer*/,
                    const E_EncodingType /*enctype*/, DcmWriteCache* /*wcache*/,
                    const E_GrpLenEncoding /*glenc*/, const E_PaddingEncoding /*padenc*/,
                    const Uint32 /*padlen*/, const Uint32 /*sub_padlen*/,
                    Uint32 /*instance_length*/) override {
    while (position_ < end_) {
      const off_t room = std::min<off_t>(out.avail(), end_ - position_);
      if (room <= 0) return EC_StreamNotifyClient;
      buffer_.resize(static_cast<std::size_t>(room));
      const ssize_t got = ::pread(fd_.get(), buffer_.data(), buffer_.size(), position_);
      if (got <= 0) {
        error_ = got < 0 ? std::string(std::strerror(errno)) : "the file became shorter";
        return EC_InvalidStream;
      }
      position_ += out.write(buffer_.data(), got);
    }
    return EC_Normal;
  }

 private:
  archive::FileDescriptor fd_;
  bool ok_ = false;
  off_t start_ = 0, end_ = 0, position_ = 0;
  std::vector<char> buffer_;
  std::string error_;
};

}  // namespace

std::string ConvertForSending(DcmDataset& data_set, const std::string& stored_syntax,
                              const std::string& target_syntax) {
  const E_TransferSyntax target = DcmXfer(target_syntax.c_str()).getXfer();
  if (data_set.chooseRepresentation(target, nullptr).good() && data_set.canWriteXfer(target)) {
    return {};
  }
  return fmt::format("cannot convert from {} to {} (no decoder)",
                     DcmXfer(stored_syntax.c_str()).getXferName(),
                     DcmXfer(target_syntax.c_str()).getXferName());
}

DicomSender::DicomSender() = default;

DicomSender::~DicomSender() { Close(); }

void DicomSender::RegisterDecoders() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

void SetConnectTimeout(int seconds) {
  connect_timeout_seconds.store(seconds);
  ApplyConnectTimeout();
}

int ConnectTimeoutSeconds() { return connect_timeout_seconds.load(); }

void ApplyConnectTimeout() {
  dcmConnectionTimeout.set(static_cast<Sint32>(connect_timeout_seconds.load()));
}

std::string DicomSender::Open(const SendTarget& target,
                              const std::vector<std::pair<std::string, std::string>>& kinds) {
  Close();
  dimse_timeout_seconds_ = target.dimse_timeout_seconds;
  const std::string peer = fmt::format("{}@{}:{}", target.called_ae, target.host, target.port);
  OFCondition result =
      ASC_initializeNetwork(NET_REQUESTOR, 0, target.acse_timeout_seconds, &network_);
  T_ASC_Parameters* params = nullptr;
  if (result.good()) {
    result = ASC_createAssociationParameters(&params, static_cast<long>(target.max_pdu_bytes));
  }
  if (result.good()) {
    ASC_setAPTitles(params, target.calling_ae.c_str(), target.called_ae.c_str(), nullptr);
    const std::string address = fmt::format("{}:{}", target.host, target.port);
    result = ASC_setPresentationAddresses(params, OFStandard::getHostName().c_str(),
                                          address.c_str());
  }
  if (result.good()) result = ProposeContexts(params, kinds);
  if (result.good() && target.tls) result = UseTls(*target.tls, params);
  if (result.good()) {
    ApplyConnectTimeout();
    result = ASC_requestAssociation(network_, params, &association_);
  }
  if (result.bad()) {
    if (association_ == nullptr && params != nullptr) ASC_destroyAssociationParameters(&params);
    if (association_ != nullptr) ASC_destroyAssociation(&association_);
    Close();
    return fmt::format("cannot associate with {}: {}", peer, result.text());
  }
  if (ASC_countAcceptedPresentationContexts(association_->params) == 0) {
    Close();
    return fmt::format("cannot associate with {}: no presentation context was accepted", peer);
  }
  return {};
}

namespace {

// What a C-STORE that returned `sent` with `status` did.
SendResult Answered(const OFCondition& sent, Uint16 status) {
  SendResult result;
  if (sent.bad()) {
    result.reason = fmt::format("C-STORE failed: {}", sent.text());
    return result;
  }
  result.status = status;
  result.ok = status == 0x0000 || (status & 0xF000) == 0xB000;
  result.warning = (status & 0xF000) == 0xB000;
  if (!result.ok) result.reason = fmt::format("the destination answered 0x{:04X}", status);
  return result;
}

std::string SopInstanceUidOf(DcmDataset& data_set) {
  OFString uid;
  data_set.findAndGetOFString(DCM_SOPInstanceUID, uid);
  return uid.c_str();
}

SendResult NotOpen() {
  SendResult result;
  result.reason = "the association to the destination is not open";
  return result;
}

}  // namespace

unsigned char DicomSender::ContextFor(const std::string& sop_class_uid,
                                      const std::string& transfer_syntax_uid) const {
  // DCMTK falls back to any context of the SOP class; only an exact match will do.
  const T_ASC_PresentationContextID id = ASC_findAcceptedPresentationContextID(
      association_, sop_class_uid.c_str(), transfer_syntax_uid.c_str());
  T_ASC_PresentationContext context;
  if (id == 0 || ASC_findAcceptedPresentationContext(association_->params, id, &context).bad() ||
      transfer_syntax_uid != context.acceptedTransferSyntax) {
    return 0;
  }
  return id;
}

SendResult DicomSender::Store(unsigned char context, const std::string& sop_class_uid,
                              const std::string& sop_instance_uid, const char* file,
                              DcmDataset* data_set, const std::string& move_originator_ae,
                              std::uint16_t message_id) {
  T_DIMSE_C_StoreRQ request{};
  request.MessageID = association_->nextMsgID++;
  OFStandard::strlcpy(request.AffectedSOPClassUID, sop_class_uid.c_str(),
                      sizeof request.AffectedSOPClassUID);
  OFStandard::strlcpy(request.AffectedSOPInstanceUID, sop_instance_uid.c_str(),
                      sizeof request.AffectedSOPInstanceUID);
  request.DataSetType = DIMSE_DATASET_PRESENT;
  request.Priority = DIMSE_PRIORITY_MEDIUM;
  if (!move_originator_ae.empty()) {
    OFStandard::strlcpy(request.MoveOriginatorApplicationEntityTitle,
                        move_originator_ae.c_str(),
                        sizeof request.MoveOriginatorApplicationEntityTitle);
    request.MoveOriginatorID = message_id;
    request.opts = O_STORE_MOVEORIGINATORAETITLE | O_STORE_MOVEORIGINATORID;
  }
  T_DIMSE_C_StoreRSP response{};
  DcmDataset* status_detail = nullptr;
  const OFCondition sent =
      DIMSE_storeUser(association_, context, &request, file, data_set, nullptr, nullptr,
                      DIMSE_NONBLOCKING, dimse_timeout_seconds_, &response, &status_detail);
  delete status_detail;
  return Answered(sent, response.DimseStatus);
}

SendResult DicomSender::Send(const std::filesystem::path& file, const std::string& sop_class_uid,
                             const std::string& transfer_syntax_uid,
                             const std::string& move_originator_ae, std::uint16_t message_id) {
  return Send(file, sop_class_uid, MetaSopInstanceUid(file), transfer_syntax_uid,
              move_originator_ae, message_id);
}

SendResult DicomSender::Send(const std::filesystem::path& file, const std::string& sop_class_uid,
                             const std::string& sop_instance_uid,
                             const std::string& transfer_syntax_uid,
                             const std::string& move_originator_ae, std::uint16_t message_id) {
  if (association_ == nullptr) return NotOpen();
  // As stored, streamed from the file, when the destination accepted the stored syntax.
  const unsigned char context = ContextFor(sop_class_uid, transfer_syntax_uid);
  if (context != 0 && !sop_instance_uid.empty()) {
    StoredDataSet stored(file);
    if (!stored.ok()) {
      return Store(context, sop_class_uid, sop_instance_uid, file.c_str(), nullptr,
                   move_originator_ae, message_id);
    }
    SendResult result = Store(context, sop_class_uid, sop_instance_uid, nullptr, &stored,
                              move_originator_ae, message_id);
    if (!stored.error().empty()) {
      result.reason += fmt::format(" (reading {}: {})", file.string(), stored.error());
    }
    return result;
  }
  // Otherwise loaded and, unless it is already, decompressed to a syntax it accepted.
  DcmFileFormat format;
  const OFCondition loaded = format.loadFile(file.c_str());
  if (loaded.bad()) {
    SendResult result;
    result.reason = fmt::format("cannot read {}: {}", file.string(), loaded.text());
    return result;
  }
  return SendDecompressed(*format.getDataset(), sop_class_uid, transfer_syntax_uid,
                          move_originator_ae, message_id);
}

SendResult DicomSender::SendDataSet(DcmDataset& data_set, const std::string& sop_class_uid,
                                    const std::string& transfer_syntax_uid,
                                    const std::string& move_originator_ae,
                                    std::uint16_t message_id) {
  if (association_ == nullptr) return NotOpen();
  unsigned char context = ContextFor(sop_class_uid, transfer_syntax_uid);
  if (context == 0 && transfer_syntax_uid == UID_LittleEndianExplicitTransferSyntax) {
    context = ContextFor(sop_class_uid, UID_LittleEndianImplicitTransferSyntax);
  }
  if (context == 0) {
    SendResult result;
    result.reason = fmt::format("the destination did not accept {} for SOP class {}",
                                DcmXfer(transfer_syntax_uid.c_str()).getXferName(),
                                sop_class_uid);
    return result;
  }
  return Store(context, sop_class_uid, SopInstanceUidOf(data_set), nullptr, &data_set,
               move_originator_ae, message_id);
}

SendResult DicomSender::SendDecompressed(DcmDataset& data_set, const std::string& sop_class_uid,
                                         const std::string& transfer_syntax_uid,
                                         const std::string& move_originator_ae,
                                         std::uint16_t message_id) {
  if (association_ == nullptr) return NotOpen();
  SendResult result;
  unsigned char context = ContextFor(sop_class_uid, transfer_syntax_uid);
  for (const char* syntax : kUncompressed) {
    if (context != 0) break;
    context = ContextFor(sop_class_uid, syntax);
    if (context == 0) continue;
    result.reason = ConvertForSending(data_set, transfer_syntax_uid, syntax);
    if (!result.reason.empty()) context = 0;
  }
  if (context == 0) {
    if (result.reason.empty()) {
      result.reason = fmt::format("the destination accepted neither {} nor an uncompressed "
                                  "transfer syntax for SOP class {}",
                                  DcmXfer(transfer_syntax_uid.c_str()).getXferName(),
                                  sop_class_uid);
    }
    return result;
  }
  return Store(context, sop_class_uid, SopInstanceUidOf(data_set), nullptr, &data_set,
               move_originator_ae, message_id);
}

void DicomSender::Close() {
  if (association_ != nullptr) {
    ASC_releaseAssociation(association_);
    ASC_destroyAssociation(&association_);
  }
  if (network_ != nullptr) ASC_dropNetwork(&network_);
  association_ = nullptr;
  network_ = nullptr;
  tls_layer_.reset();  // after the network that used it
}

OFCondition DicomSender::UseTls(const TlsSettings& tls, T_ASC_Parameters* params) {
  try {
    tls_layer_.reset(MakeTlsTransportLayer(tls, NET_REQUESTOR).release());
  } catch (const std::exception& e) {
    return makeOFCondition(OFM_dcmnet, 999, OF_error, e.what());
  }
  const OFCondition set = ASC_setTransportLayer(network_, tls_layer_.get(), 0);
  return set.good() ? ASC_setTransportLayerType(params, OFTrue) : set;
}

}  // namespace hokan::dicom
