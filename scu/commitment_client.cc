#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/commitment_client.h"
#include "scu/relay_tls.h"

#include <memory>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::relay {

dicom::SendTarget ArchiveTarget(const RelayConfig& config) {
  dicom::SendTarget archive;
  archive.calling_ae = config.ae_title;
  archive.called_ae = config.archive_ae_title;
  archive.host = config.archive_host;
  archive.port = config.archive_port;
  archive.acse_timeout_seconds = config.acse_timeout_seconds;
  archive.dimse_timeout_seconds = config.dimse_timeout_seconds;
  archive.tls = ArchiveTls(config);  // [archive] tls = true
  return archive;
}

std::string ArchiveName(const RelayConfig& config) {
  return fmt::format("{}@{}:{}", config.archive_ae_title, config.archive_host,
                     config.archive_port);
}

ArchiveReport ParseArchiveReport(DcmDataset& event_information) {
  ArchiveReport report;
  OFString value;
  if (event_information.findAndGetOFString(DCM_TransactionUID, value).bad() || value.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "storage commitment report: no Transaction UID (0008,1195)");
  }
  report.transaction_uid = value.c_str();
  DcmSequenceOfItems* sequence = nullptr;
  if (event_information.findAndGetSequence(DCM_ReferencedSOPSequence, sequence).good() &&
      sequence) {
    for (unsigned long i = 0; i < sequence->card(); ++i) {
      if (sequence->getItem(i)->findAndGetOFString(DCM_ReferencedSOPInstanceUID, value).good()) {
        report.committed.push_back(value.c_str());
      }
    }
  }
  sequence = nullptr;
  if (event_information.findAndGetSequence(DCM_FailedSOPSequence, sequence).good() && sequence) {
    for (unsigned long i = 0; i < sequence->card(); ++i) {
      DcmItem* item = sequence->getItem(i);
      Uint16 reason = 0x0110;
      if (item->findAndGetOFString(DCM_ReferencedSOPInstanceUID, value).bad()) continue;
      item->findAndGetUint16(DCM_FailureReason, reason);
      report.failed.emplace_back(value.c_str(), reason);
    }
  }
  return report;
}

std::string NewTransactionUid() {
  char buffer[100];
  return dcmGenerateUniqueIdentifier(buffer, SITE_INSTANCE_UID_ROOT);
}

CommitmentAttempt RequestArchiveCommitment(
    const dicom::SendTarget& archive, const std::string& transaction_uid,
    const std::vector<std::pair<std::string, std::string>>& items, int report_wait_seconds) {
  CommitmentAttempt attempt;
  DcmSCU scu;
  scu.setAETitle(archive.calling_ae.c_str());
  scu.setPeerAETitle(archive.called_ae.c_str());
  scu.setPeerHostName(archive.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(archive.port));
  scu.setACSETimeout(static_cast<Uint32>(archive.acse_timeout_seconds));
  scu.setDIMSETimeout(static_cast<Uint32>(archive.dimse_timeout_seconds));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_StorageCommitmentPushModelSOPClass, syntaxes);
  OFCondition result = scu.initNetwork();
  if (result.good()) result = scu.negotiateAssociation();
  if (result.bad()) {
    attempt.error = fmt::format("cannot associate with {}@{}:{} for storage commitment: {}",
                                archive.called_ae, archive.host, archive.port, result.text());
    return attempt;
  }
  const T_ASC_PresentationContextID context =
      scu.findAnyPresentationContextID(UID_StorageCommitmentPushModelSOPClass, "");
  if (context == 0) {
    scu.releaseAssociation();
    attempt.error = "the archive did not accept the Storage Commitment Push Model SOP Class";
    return attempt;
  }
  DcmDataset information;
  information.putAndInsertString(DCM_TransactionUID, transaction_uid.c_str());
  for (const auto& [class_uid, instance_uid] : items) {
    DcmItem* item = nullptr;
    information.findOrCreateSequenceItem(DCM_ReferencedSOPSequence, item, -2);
    item->putAndInsertString(DCM_ReferencedSOPClassUID, class_uid.c_str());
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID, instance_uid.c_str());
  }
  Uint16 status = 0;
  result = scu.sendACTIONRequest(context, UID_StorageCommitmentPushModelSOPInstance, 1,
                                 &information, status);
  if (result.bad()) {
    scu.abortAssociation();
    attempt.error = fmt::format("N-ACTION to {} failed: {}", archive.called_ae, result.text());
    return attempt;
  }
  attempt.status = status;
  if (status == 0x0000 && report_wait_seconds > 0) {
    DcmDataset* event_information = nullptr;
    Uint16 event_type_id = 0;
    result = scu.handleEVENTREPORTRequest(event_information, event_type_id, report_wait_seconds);
    std::unique_ptr<DcmDataset> owned(event_information);
    if (result.good() && event_information) {
      try {
        attempt.report = ParseArchiveReport(*event_information);
      } catch (const Error& error) {
        // As if no report came: the forwarder asks again after commitment_wait.
        Log(LogLevel::kWarn, "{}; ignored", error.what());
      }
    }
  }
  if (scu.isConnected()) scu.releaseAssociation();
  return attempt;
}

}  // namespace hokan::relay
