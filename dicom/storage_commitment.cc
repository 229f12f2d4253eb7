#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/storage_commitment.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcsequen.h"

#include <fmt/format.h>

#include "archive/common/log.h"
#include "archive/common/uid.h"
#include "dicom/dimse_status.h"

namespace hokan::dicom {
namespace {

// A UI value without its padding (trailing NUL or spaces).
std::string UidValue(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  if (item.findAndGetOFString(tag, value).bad()) return {};
  std::string text(value.c_str(), value.length());
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

CommitmentRequestParse Refuse(std::string error) {
  CommitmentRequestParse parse;
  parse.status = dicom::status::kInvalidArgumentValue;
  parse.error = std::move(error);
  return parse;
}

}  // namespace

CommitmentRequestParse ParseCommitmentRequest(DcmDataset& action_information) {
  CommitmentRequestParse parse;
  const std::string transaction_uid = UidValue(action_information, DCM_TransactionUID);
  if (transaction_uid.empty()) return Refuse("Transaction UID (0008,1195) is missing");
  if (!archive::IsValidUid(transaction_uid)) {
    return Refuse(fmt::format("Transaction UID '{}' is not a valid UID", transaction_uid));
  }
  DcmSequenceOfItems* sequence = nullptr;
  if (action_information.findAndGetSequence(DCM_ReferencedSOPSequence, sequence).bad() ||
      sequence == nullptr) {
    return Refuse("Referenced SOP Sequence (0008,1199) is missing");
  }
  const unsigned long count = sequence->card();
  if (count == 0) return Refuse("Referenced SOP Sequence (0008,1199) is empty");
  if (count > kMaxCommitmentItems) {
    return Refuse(fmt::format("Referenced SOP Sequence has {} items; at most {}", count,
                              kMaxCommitmentItems));
  }
  parse.request.transaction_uid = transaction_uid;
  parse.request.items.reserve(count);
  for (unsigned long i = 0; i < count; ++i) {
    DcmItem* item = sequence->getItem(i);
    const std::string class_uid = item ? UidValue(*item, DCM_ReferencedSOPClassUID) : "";
    const std::string instance_uid = item ? UidValue(*item, DCM_ReferencedSOPInstanceUID) : "";
    if (class_uid.empty()) {
      return Refuse(fmt::format("item {}: Referenced SOP Class UID is missing", i + 1));
    }
    if (instance_uid.empty()) {
      return Refuse(fmt::format("item {}: Referenced SOP Instance UID is missing", i + 1));
    }
    if (!archive::IsValidUid(class_uid)) {
      return Refuse(fmt::format("item {}: SOP Class UID '{}' is not valid", i + 1, class_uid));
    }
    if (!archive::IsValidUid(instance_uid)) {
      return Refuse(
          fmt::format("item {}: SOP Instance UID '{}' is not valid", i + 1, instance_uid));
    }
    parse.request.items.push_back({class_uid, instance_uid});
  }
  parse.ok = true;
  parse.status = dicom::status::kSuccess;
  return parse;
}

CommitmentEventReport BuildEventReport(const archive::CommitmentReport& report,
                                       const std::string& retrieve_ae) {
  CommitmentEventReport event;
  event.event_type_id = report.Failed() == 0 ? 1 : 2;
  event.event_information = std::make_unique<DcmDataset>();
  DcmDataset& dataset = *event.event_information;
  dataset.putAndInsertString(DCM_TransactionUID, report.transaction_uid.c_str());
  if (report.Committed() > 0) {
    dataset.putAndInsertString(DCM_RetrieveAETitle, retrieve_ae.c_str());
  }
  for (const auto& outcome : report.outcomes) {
    DcmItem* item = nullptr;
    if (!outcome.failure) {
      dataset.findOrCreateSequenceItem(DCM_ReferencedSOPSequence, item, -2 /* append */);
    } else {
      dataset.findOrCreateSequenceItem(DCM_FailedSOPSequence, item, -2 /* append */);
    }
    if (!item) continue;
    item->putAndInsertString(DCM_ReferencedSOPClassUID, outcome.item.sop_class_uid.c_str());
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID,
                             outcome.item.sop_instance_uid.c_str());
    if (outcome.failure) {
      item->putAndInsertUint16(DCM_FailureReason, static_cast<Uint16>(*outcome.failure));
    }
  }
  return event;
}

void LogCommitmentReport(const archive::CommitmentReport& report, const std::string& how) {
  for (const auto& outcome : report.outcomes) {
    if (!outcome.failure) continue;
    Log(LogLevel::kWarn, "storage commitment transaction {}: instance {} failed (0x{:04X}): {}",
        report.transaction_uid, outcome.item.sop_instance_uid,
        static_cast<unsigned>(*outcome.failure), outcome.detail);
  }
  Log(report.Failed() == 0 ? LogLevel::kInfo : LogLevel::kWarn,
      "storage commitment from {}, transaction {}: {} committed, {} failed; {}",
      report.requester_ae, report.transaction_uid, report.Committed(), report.Failed(), how);
}

}  // namespace hokan::dicom
