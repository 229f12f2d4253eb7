#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/contract_timing.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/dcmtls/tlslayer.h"

#include <fmt/format.h>

#include <cstring>
#include <memory>

#include "archive/common/error.h"
#include "dicom/dimse_status.h"
#include "dicom/facility_contract.h"
#include "dicom/tls_transport.h"

namespace hokan::relay {
namespace {

// DcmSCU has no N-GET: it is sent and read with DcmSCU's DIMSE primitives.
class ContractScu : public DcmSCU {
 public:
  using DcmSCU::useSecureConnection;

  // Sends the N-GET on `context`; `answer` gets the status and, on
  // success, the decoded contract (or the reason in `error`).
  void Get(T_ASC_PresentationContextID context, ContractAnswer& answer) {
    T_DIMSE_Message request;
    std::memset(&request, 0, sizeof request);
    request.CommandField = DIMSE_N_GET_RQ;
    T_DIMSE_N_GetRQ& get = request.msg.NGetRQ;
    get.MessageID = 1;  // the only message of its association
    OFStandard::strlcpy(get.RequestedSOPClassUID, dicom::kFacilityContractSopClassUid,
                        sizeof get.RequestedSOPClassUID);
    OFStandard::strlcpy(get.RequestedSOPInstanceUID, dicom::kFacilityContractSopInstanceUid,
                        sizeof get.RequestedSOPInstanceUID);
    get.DataSetType = DIMSE_DATASET_NULL;
    OFCondition result = sendDIMSEMessage(context, &request, nullptr);
    if (result.bad()) {
      answer.error = fmt::format("N-GET could not be sent: {}", result.text());
      return;
    }
    T_DIMSE_Message response;
    std::memset(&response, 0, sizeof response);
    T_ASC_PresentationContextID response_context = context;
    DcmDataset* detail = nullptr;
    result = receiveDIMSECommand(&response_context, &response, &detail);
    std::unique_ptr<DcmDataset> owned_detail(detail);
    if (result.bad() || response.CommandField != DIMSE_N_GET_RSP) {
      answer.error = fmt::format("no N-GET response: {}",
                                 result.bad() ? result.text() : "another command came");
      return;
    }
    const T_DIMSE_N_GetRSP& got = response.msg.NGetRSP;
    answer.status = got.DimseStatus;
    DcmDataset* attributes = nullptr;
    if (got.DataSetType != DIMSE_DATASET_NULL) {
      result = receiveDIMSEDataset(&response_context, &attributes);
      if (result.bad()) {
        answer.error = fmt::format("the N-GET response's data set did not arrive: {}",
                                   result.text());
        return;
      }
    }
    std::unique_ptr<DcmDataset> owned_attributes(attributes);
    if (answer.status != dicom::status::kSuccess) {
      OFString comment;
      if (detail) detail->findAndGetOFString(DCM_ErrorComment, comment);
      answer.error = fmt::format("the archive answered 0x{:04X}{}", answer.status,
                                 comment.empty() ? "" : fmt::format(" ({})", comment.c_str()));
      return;
    }
    if (!attributes) {
      answer.error = "the archive's N-GET response has no attributes";
      return;
    }
    try {
      answer.contract = dicom::DecodeContractTiming(*attributes);
    } catch (const Error& error) {
      answer.error = error.what();
    }
  }
};

}  // namespace

EffectiveTiming FileTiming(const RelayConfig& config) {
  EffectiveTiming timing;
  timing.timing = config.timing;
  timing.nightly_at = config.nightly_at;
  timing.exam_quiet = config.exam_quiet;
  return timing;
}

EffectiveTiming TimingOfContract(const archive::ContractTiming& contract) {
  EffectiveTiming timing;
  timing.contract_id = contract.contract_id;
  timing.facility = contract.facility;
  if (contract.backup_timing == "on_receipt") {
    timing.timing = BackupTiming::kOnReceipt;
  } else if (contract.backup_timing == "nightly" && contract.nightly_at_minutes) {
    timing.timing = BackupTiming::kNightly;
    timing.nightly_at = std::chrono::minutes(*contract.nightly_at_minutes);
  } else if (contract.backup_timing == "per_exam" && contract.exam_quiet_minutes) {
    timing.timing = BackupTiming::kPerExam;
    timing.exam_quiet = std::chrono::minutes(*contract.exam_quiet_minutes);
  } else {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("contract {}: backup timing '{}' without what it needs, or unknown",
                            contract.contract_id, contract.backup_timing));
  }
  return timing;
}

RelayConfig WithTiming(RelayConfig config, const EffectiveTiming& timing) {
  config.timing = timing.timing;
  config.nightly_at = timing.nightly_at;
  config.exam_quiet = timing.exam_quiet;
  return config;
}

bool SameSchedule(const EffectiveTiming& a, const EffectiveTiming& b) {
  if (a.timing != b.timing) return false;
  if (a.timing == BackupTiming::kNightly) return a.nightly_at == b.nightly_at;
  if (a.timing == BackupTiming::kPerExam) return a.exam_quiet == b.exam_quiet;
  return true;
}

std::string DescribeTiming(const EffectiveTiming& timing) {
  switch (timing.timing) {
    case BackupTiming::kOnReceipt:
      return "on receipt";
    case BackupTiming::kNightly:
      if (!timing.nightly_at) return "nightly (no time set)";
      return fmt::format("nightly at {:02}:{:02} UTC", timing.nightly_at->count() / 60,
                         timing.nightly_at->count() % 60);
    case BackupTiming::kPerExam:
      return fmt::format("per exam after {} min quiet", timing.exam_quiet.count());
  }
  return "?";
}

std::string DescribeSource(const EffectiveTiming& timing) {
  if (!timing.contract_id) return "hokan-forward.ini";
  return fmt::format("contract {} (facility {})", *timing.contract_id, timing.facility);
}

ContractAnswer AskArchiveContract(const dicom::SendTarget& archive) {
  ContractAnswer answer;
  std::unique_ptr<DcmTLSTransportLayer> tls;  // outlives the SCU's network
  ContractScu scu;
  scu.setAETitle(archive.calling_ae.c_str());
  scu.setPeerAETitle(archive.called_ae.c_str());
  scu.setPeerHostName(archive.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(archive.port));
  scu.setACSETimeout(static_cast<Uint32>(archive.acse_timeout_seconds));
  scu.setDIMSETimeout(static_cast<Uint32>(archive.dimse_timeout_seconds));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  scu.addPresentationContext(dicom::kFacilityContractSopClassUid, syntaxes);
  const std::string peer =
      fmt::format("{}@{}:{}", archive.called_ae, archive.host, archive.port);
  OFCondition result = scu.initNetwork();
  if (result.good() && archive.tls) {
    try {
      tls = dicom::MakeTlsTransportLayer(*archive.tls, NET_REQUESTOR);
      result = scu.useSecureConnection(tls.get());
    } catch (const std::exception& error) {
      answer.error = fmt::format("cannot ask {} for the contract: {}", peer, error.what());
      return answer;
    }
  }
  dicom::ApplyConnectTimeout();
  if (result.good()) result = scu.negotiateAssociation();
  if (result.bad()) {
    answer.error = fmt::format("cannot associate with {}: {}", peer, result.text());
    return answer;
  }
  const T_ASC_PresentationContextID context =
      scu.findPresentationContextID(dicom::kFacilityContractSopClassUid,
                                    UID_LittleEndianExplicitTransferSyntax);
  if (context == 0) {
    scu.releaseAssociation();
    answer.error = fmt::format("{} did not accept the hokan Facility Contract SOP class", peer);
    return answer;
  }
  scu.Get(context, answer);
  if (!answer.error.empty()) answer.error = fmt::format("{}: {}", peer, answer.error);
  if (scu.isConnected()) scu.releaseAssociation();
  return answer;
}

}  // namespace hokan::relay
