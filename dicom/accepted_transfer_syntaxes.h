#pragma once

// The transfer syntaxes hokan's SCPs (the archive and the relay) accept, in
// order of preference, as DCMTK's association functions take them.

namespace hokan::dicom {

// For storage: compressed syntaxes first, so a sender offering its file's
// own compressed syntax next to uncompressed ones sends the file as it is.
extern const char* kStorageTransferSyntaxes[];
extern const int kStorageTransferSyntaxCount;

// For everything else (verification, query/retrieve, commitment):
// explicit little endian, explicit big endian, implicit little endian.
extern const char* kUncompressedTransferSyntaxes[];
extern const int kUncompressedTransferSyntaxCount;

}  // namespace hokan::dicom
