#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/dicom_sender.h"

#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmnet/scu.h"

#include <fmt/format.h>

#include <mutex>
#include <set>

namespace hokan::dicom {
namespace {

// Presentation contexts one association may carry (PS3.8: odd IDs 1-255).
constexpr std::size_t kMaxPresentationContexts = 128;

OFList<OFString> Syntaxes(std::initializer_list<const char*> uids) {
  OFList<OFString> list;
  for (const char* uid : uids) list.push_back(uid);
  return list;
}

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

std::string DicomSender::Open(const SendTarget& target,
                              const std::vector<std::pair<std::string, std::string>>& kinds) {
  Close();
  scu_ = std::make_unique<DcmSCU>();
  scu_->setAETitle(target.calling_ae.c_str());
  scu_->setPeerAETitle(target.called_ae.c_str());
  scu_->setPeerHostName(target.host.c_str());
  scu_->setPeerPort(static_cast<Uint16>(target.port));
  scu_->setACSETimeout(static_cast<Uint32>(target.acse_timeout_seconds));
  scu_->setDIMSETimeout(static_cast<Uint32>(target.dimse_timeout_seconds));
  scu_->setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu_->setMaxReceivePDULength(static_cast<Uint32>(target.max_pdu_bytes));

  const OFList<OFString> uncompressed =
      Syntaxes({UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax});
  std::set<std::pair<std::string, std::string>> proposed;
  std::set<std::string> classes_with_uncompressed;
  std::size_t contexts = 0;
  for (const auto& [sop_class, syntax] : kinds) {
    if (proposed.insert({sop_class, syntax}).second && contexts < kMaxPresentationContexts) {
      scu_->addPresentationContext(sop_class.c_str(), Syntaxes({syntax.c_str()}));
      ++contexts;
    }
    if (classes_with_uncompressed.insert(sop_class).second &&
        contexts < kMaxPresentationContexts) {
      scu_->addPresentationContext(sop_class.c_str(), uncompressed);
      ++contexts;
    }
  }
  OFCondition result = scu_->initNetwork();
  if (result.good()) result = scu_->negotiateAssociation();
  if (result.bad()) {
    const std::string reason = fmt::format("cannot associate with {}@{}:{}: {}",
                                           target.called_ae, target.host, target.port,
                                           result.text());
    scu_.reset();
    return reason;
  }
  return {};
}

namespace {

// What a sendSTORERequest that returned `sent` with `status` did.
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

}  // namespace

SendResult DicomSender::Send(const std::filesystem::path& file, const std::string& sop_class_uid,
                             const std::string& transfer_syntax_uid,
                             const std::string& move_originator_ae, std::uint16_t message_id) {
  SendResult result;
  if (!scu_ || !scu_->isConnected()) {
    result.reason = "the association to the destination is not open";
    return result;
  }
  Uint16 status = 0;
  OFCondition sent;
  // As stored, when the destination accepted the stored syntax.
  T_ASC_PresentationContextID context =
      scu_->findPresentationContextID(sop_class_uid.c_str(), transfer_syntax_uid.c_str());
  if (context != 0) {
    sent = scu_->sendSTORERequest(context, file.c_str(), nullptr, status,
                                  move_originator_ae.c_str(), message_id);
  } else {
    // Otherwise decompressed to a syntax it accepted.
    DcmFileFormat format;
    OFCondition loaded = format.loadFile(file.c_str());
    if (loaded.bad()) {
      result.reason = fmt::format("cannot read {}: {}", file.string(), loaded.text());
      return result;
    }
    DcmDataset* data_set = format.getDataset();
    for (const char* syntax :
         {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}) {
      context = scu_->findPresentationContextID(sop_class_uid.c_str(), syntax);
      if (context == 0) continue;
      result.reason = ConvertForSending(*data_set, transfer_syntax_uid, syntax);
      if (result.reason.empty()) break;
      context = 0;
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
    sent = scu_->sendSTORERequest(context, "", data_set, status, move_originator_ae.c_str(),
                                  message_id);
  }
  return Answered(sent, status);
}

SendResult DicomSender::SendDataSet(DcmDataset& data_set, const std::string& sop_class_uid,
                                    const std::string& transfer_syntax_uid,
                                    const std::string& move_originator_ae,
                                    std::uint16_t message_id) {
  SendResult result;
  if (!scu_ || !scu_->isConnected()) {
    result.reason = "the association to the destination is not open";
    return result;
  }
  T_ASC_PresentationContextID context =
      scu_->findPresentationContextID(sop_class_uid.c_str(), transfer_syntax_uid.c_str());
  if (context == 0 && transfer_syntax_uid == UID_LittleEndianExplicitTransferSyntax) {
    context = scu_->findPresentationContextID(sop_class_uid.c_str(),
                                              UID_LittleEndianImplicitTransferSyntax);
  }
  if (context == 0) {
    result.reason = fmt::format("the destination did not accept {} for SOP class {}",
                                DcmXfer(transfer_syntax_uid.c_str()).getXferName(),
                                sop_class_uid);
    return result;
  }
  Uint16 status = 0;
  const OFCondition sent = scu_->sendSTORERequest(context, "", &data_set, status,
                                                  move_originator_ae.c_str(), message_id);
  return Answered(sent, status);
}

void DicomSender::Close() {
  if (scu_ && scu_->isConnected()) scu_->releaseAssociation();
  scu_.reset();
}

}  // namespace hokan::dicom
