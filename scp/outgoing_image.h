#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <memory>
#include <string>

#include "dcmtk/dcmdata/dcfilefo.h"

#include "archive/retrieve/retrieve_service.h"
#include "archive/storage/file_store.h"

namespace hokan::scp {

// Loads a stored file whole into `format` (for derivation or conversion):
// from its local name when the store has one, else through OpenRead.
// Returns "" or why it cannot.
std::string LoadStoredFile(const archive::FileStore& files, const std::string& relative_path,
                           DcmFileFormat& format);

// The image a kDerived delivery goes as: its stored file, transformed under
// `range` (dicom/derived_image.h).
struct DerivedOutgoing {
  std::unique_ptr<DcmFileFormat> format;  // the derived image (null on error)
  std::string transfer_syntax_uid;        // its pixel data's syntax
  std::string sop_instance_uid;           // the derived image's (DerivedInstanceUid)
  std::string error;                      // why it could not be made
};
DerivedOutgoing MakeDerivedOutgoing(const archive::FileStore& files,
                                    const archive::Delivery& delivery,
                                    const archive::RetrievalRange& range);

}  // namespace hokan::scp
