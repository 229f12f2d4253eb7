#include "dcmtk/config/osconfig.h"  // must come first

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/dicom_sender.h"
#include "dicom/storage_commitment.h"

namespace hokan::dicom {

std::string SendReportOnNewAssociation(const ReportSenderSettings& settings,
                                       const archive::ReportAddress& address,
                                       const archive::CommitmentReport& report) {
  DcmSCU scu;
  scu.setAETitle(settings.ae_title.c_str());
  scu.setPeerAETitle(address.ae_title.c_str());
  scu.setPeerHostName(address.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(address.port));
  scu.setACSETimeout(static_cast<Uint32>(settings.acse_timeout_seconds));
  scu.setConnectionTimeout(static_cast<Sint32>(ConnectTimeoutSeconds()));
  scu.setDIMSETimeout(static_cast<Uint32>(settings.dimse_timeout_seconds));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.setMaxReceivePDULength(static_cast<Uint32>(settings.max_pdu_bytes));
  OFList<OFString> transfer_syntaxes;
  transfer_syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  transfer_syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  // PS3.4 J.3.3: on an association it opens, the SCP proposes the SCP role.
  scu.addPresentationContext(UID_StorageCommitmentPushModelSOPClass, transfer_syntaxes,
                             ASC_SC_ROLE_SCP);
  OFCondition result = scu.initNetwork();
  ApplyConnectTimeout();
  if (result.good()) result = scu.negotiateAssociation();
  if (result.bad()) return fmt::format("association not established: {}", result.text());

  const T_ASC_PresentationContextID context =
      scu.findAnyPresentationContextID(UID_StorageCommitmentPushModelSOPClass, "");
  if (context == 0) {
    scu.releaseAssociation();
    return "the peer did not accept the Storage Commitment Push Model SOP Class";
  }
  CommitmentEventReport event = BuildEventReport(report, settings.ae_title);
  Uint16 status = 0;
  result = scu.sendEVENTREPORTRequest(context, UID_StorageCommitmentPushModelSOPInstance,
                                      event.event_type_id, event.event_information.get(),
                                      status);
  if (result.bad()) {
    scu.abortAssociation();
    return fmt::format("N-EVENT-REPORT not delivered: {}", result.text());
  }
  scu.releaseAssociation();
  if (status != 0) return fmt::format("N-EVENT-REPORT answered with status 0x{:04X}", status);
  return {};
}

}  // namespace hokan::dicom
