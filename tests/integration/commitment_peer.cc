#include "dcmtk/config/osconfig.h"  // must come first

#include "tests/integration/commitment_peer.h"

#include <atomic>
#include <cstring>
#include <stdexcept>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scp.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/oflog/oflog.h"

#include "tests/integration/test_support.h"

namespace hokan::integration {
namespace {

// DCMTK's network log stays quiet in tests (a release crossing a report
// logs an expected error); the assertions say what went wrong.
void QuietNetworkLog() {
  static const bool configured = [] {
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    return true;
  }();
  (void)configured;
}

OFList<OFString> TransferSyntaxes() {
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  return syntaxes;
}

ReceivedReport ParseReport(DcmDataset* dataset, std::uint16_t event_type_id) {
  ReceivedReport report;
  report.event_type_id = event_type_id;
  if (!dataset) return report;
  OFString value;
  if (dataset->findAndGetOFString(DCM_TransactionUID, value).good()) {
    report.transaction_uid = value.c_str();
  }
  DcmSequenceOfItems* sequence = nullptr;
  if (dataset->findAndGetSequence(DCM_ReferencedSOPSequence, sequence).good() && sequence) {
    for (unsigned long i = 0; i < sequence->card(); ++i) {
      sequence->getItem(i)->findAndGetOFString(DCM_ReferencedSOPInstanceUID, value);
      report.committed.push_back(value.c_str());
    }
  }
  sequence = nullptr;
  if (dataset->findAndGetSequence(DCM_FailedSOPSequence, sequence).good() && sequence) {
    for (unsigned long i = 0; i < sequence->card(); ++i) {
      DcmItem* item = sequence->getItem(i);
      Uint16 reason = 0;
      item->findAndGetOFString(DCM_ReferencedSOPInstanceUID, value);
      item->findAndGetUint16(DCM_FailureReason, reason);
      report.failed.emplace_back(value.c_str(), reason);
    }
  }
  return report;
}

class RequesterScu : public DcmSCU {
 public:
  ActionAnswer Action(DcmDataset& information, std::uint16_t action_type_id) {
    ActionAnswer answer;
    const T_ASC_PresentationContextID context =
        findAnyPresentationContextID(UID_StorageCommitmentPushModelSOPClass, "");
    if (context == 0) {
      answer.error = "no presentation context for Storage Commitment";
      return answer;
    }
    T_DIMSE_Message request;
    std::memset(&request, 0, sizeof(request));
    request.CommandField = DIMSE_N_ACTION_RQ;
    T_DIMSE_N_ActionRQ& action = request.msg.NActionRQ;
    action.MessageID = message_id_++;
    action.ActionTypeID = action_type_id;
    action.DataSetType = DIMSE_DATASET_PRESENT;
    OFStandard::strlcpy(action.RequestedSOPClassUID, UID_StorageCommitmentPushModelSOPClass,
                        sizeof(action.RequestedSOPClassUID));
    OFStandard::strlcpy(action.RequestedSOPInstanceUID,
                        UID_StorageCommitmentPushModelSOPInstance,
                        sizeof(action.RequestedSOPInstanceUID));
    OFCondition cond = sendDIMSEMessage(context, &request, &information);
    if (cond.bad()) {
      answer.error = cond.text();
      return answer;
    }
    T_ASC_PresentationContextID response_context = 0;
    T_DIMSE_Message response;
    DcmDataset* detail = nullptr;
    cond = receiveDIMSECommand(&response_context, &response, &detail, nullptr, 60);
    std::unique_ptr<DcmDataset> owned_detail(detail);
    if (cond.bad()) {
      answer.error = cond.text();
      return answer;
    }
    if (response.CommandField != DIMSE_N_ACTION_RSP) {
      answer.error = "the answer is not an N-ACTION-RSP";
      return answer;
    }
    answer.status = response.msg.NActionRSP.DimseStatus;
    OFString comment;
    if (detail && detail->findAndGetOFString(DCM_ErrorComment, comment).good()) {
      answer.error_comment = comment.c_str();
    }
    return answer;
  }

 private:
  Uint16 message_id_ = 1;
};

}  // namespace

std::unique_ptr<DcmDataset> CommitmentRequestDataset(
    const std::string& transaction_uid,
    const std::vector<std::pair<std::string, std::string>>& items) {
  auto dataset = std::make_unique<DcmDataset>();
  dataset->putAndInsertString(DCM_TransactionUID, transaction_uid.c_str());
  if (items.empty()) {
    dataset->insertEmptyElement(DCM_ReferencedSOPSequence);
  }
  for (const auto& [class_uid, instance_uid] : items) {
    DcmItem* item = nullptr;
    dataset->findOrCreateSequenceItem(DCM_ReferencedSOPSequence, item, -2);
    item->putAndInsertString(DCM_ReferencedSOPClassUID, class_uid.c_str());
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID, instance_uid.c_str());
  }
  return dataset;
}

struct CommitmentRequester::Impl {
  RequesterScu scu;
};

CommitmentRequester::CommitmentRequester(const std::string& calling_ae,
                                         const std::string& called_ae, std::uint16_t port)
    : impl_(std::make_unique<Impl>()) {
  QuietNetworkLog();
  auto& scu = impl_->scu;
  scu.setAETitle(calling_ae.c_str());
  scu.setPeerAETitle(called_ae.c_str());
  scu.setPeerHostName("127.0.0.1");
  scu.setPeerPort(port);
  scu.setACSETimeout(10);
  scu.setDIMSETimeout(60);
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.addPresentationContext(UID_StorageCommitmentPushModelSOPClass, TransferSyntaxes());
}

CommitmentRequester::~CommitmentRequester() {
  if (impl_->scu.isConnected()) impl_->scu.abortAssociation();
}

std::string CommitmentRequester::Open() {
  OFCondition cond = impl_->scu.initNetwork();
  if (cond.good()) cond = impl_->scu.negotiateAssociation();
  return cond.good() ? std::string() : std::string(cond.text());
}

ActionAnswer CommitmentRequester::RequestCommitment(DcmDataset& information,
                                                    std::uint16_t action_type_id) {
  return impl_->scu.Action(information, action_type_id);
}

std::optional<ReceivedReport> CommitmentRequester::WaitForReport(int seconds) {
  DcmDataset* dataset = nullptr;
  Uint16 event_type_id = 0;
  const OFCondition cond = impl_->scu.handleEVENTREPORTRequest(dataset, event_type_id, seconds);
  std::unique_ptr<DcmDataset> owned(dataset);
  if (cond.bad()) return std::nullopt;
  return ParseReport(dataset, event_type_id);
}

void CommitmentRequester::Release() {
  if (impl_->scu.isConnected()) impl_->scu.releaseAssociation();
}

void CommitmentRequester::Abort() {
  if (impl_->scu.isConnected()) impl_->scu.abortAssociation();
}

namespace {

class ReceiverScp : public DcmSCP {
 public:
  ReceiverScp(std::mutex& mutex, std::vector<ReceivedReport>& reports,
              const std::atomic<bool>& stopping)
      : mutex_(mutex), reports_(reports), stopping_(stopping) {}

 protected:
  OFCondition handleIncomingCommand(T_DIMSE_Message* message,
                                    const DcmPresentationContextInfo& info) override {
    if (message->CommandField != DIMSE_N_EVENT_REPORT_RQ) {
      return DcmSCP::handleIncomingCommand(message, info);
    }
    DcmDataset* dataset = nullptr;
    Uint16 event_type_id = 0;
    const OFCondition cond = handleEVENTREPORTRequest(
        message->msg.NEventReportRQ, info.presentationContextID, dataset, event_type_id);
    std::unique_ptr<DcmDataset> owned(dataset);
    if (cond.good()) {
      ReceivedReport report = ParseReport(dataset, event_type_id);
      report.calling_ae = getPeerAETitle().c_str();
      std::lock_guard<std::mutex> lock(mutex_);
      reports_.push_back(std::move(report));
    }
    return cond;
  }
  OFBool stopAfterConnectionTimeout() override { return stopping_.load(); }

 private:
  std::mutex& mutex_;
  std::vector<ReceivedReport>& reports_;
  const std::atomic<bool>& stopping_;
};

}  // namespace

struct ReportReceiver::Impl {
  mutable std::mutex mutex;
  std::vector<ReceivedReport> reports;
  std::atomic<bool> stopping{false};
  ReceiverScp scp{mutex, reports, stopping};
  std::thread thread;
};

ReportReceiver::ReportReceiver(const std::string& ae_title, std::uint16_t port)
    : impl_(std::make_unique<Impl>()) {
  QuietNetworkLog();
  auto& scp = impl_->scp;
  scp.setAETitle(ae_title.c_str());
  scp.setConnectionBlockingMode(DUL_NOBLOCK);
  scp.setConnectionTimeout(1);
  scp.setACSETimeout(10);
  scp.setDIMSETimeout(30);
  scp.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scp.addPresentationContext(UID_StorageCommitmentPushModelSOPClass, TransferSyntaxes(),
                             ASC_SC_ROLE_SCP);
  scp.addPresentationContext(UID_VerificationSOPClass, TransferSyntaxes());
  OFCondition opened = EC_IllegalCall;
  for (int attempt = 0; attempt < (port == 0 ? 5 : 1) && opened.bad(); ++attempt) {
    port_ = port == 0 ? FreeTcpPort() : port;
    scp.setPort(port_);
    opened = scp.openListenPort();
  }
  if (opened.bad()) {
    throw std::runtime_error(std::string("report receiver cannot listen: ") + opened.text());
  }
  impl_->thread = std::thread([this] { impl_->scp.acceptAssociations(); });
}

ReportReceiver::~ReportReceiver() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<ReceivedReport> ReportReceiver::Reports() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->reports;
}

}  // namespace hokan::integration
