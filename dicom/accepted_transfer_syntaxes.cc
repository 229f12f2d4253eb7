#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/accepted_transfer_syntaxes.h"

#include "dcmtk/dcmdata/dcuid.h"

namespace hokan::dicom {

const char* kStorageTransferSyntaxes[] = {
    UID_JPEG2000LosslessOnlyTransferSyntax,
    UID_JPEG2000TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,
    UID_JPEGLSLossyTransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGProcess14TransferSyntax,
    UID_JPEGProcess1TransferSyntax,
    UID_JPEGProcess2_4TransferSyntax,
    UID_RLELosslessTransferSyntax,
    UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_LittleEndianExplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
};
const int kStorageTransferSyntaxCount =
    static_cast<int>(sizeof kStorageTransferSyntaxes / sizeof kStorageTransferSyntaxes[0]);

const char* kUncompressedTransferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
};
const int kUncompressedTransferSyntaxCount = static_cast<int>(
    sizeof kUncompressedTransferSyntaxes / sizeof kUncompressedTransferSyntaxes[0]);

}  // namespace hokan::dicom
