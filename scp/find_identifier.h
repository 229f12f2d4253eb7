#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcmtk/dcmdata/dcdatset.h"

#include "archive/config/config.h"
#include "archive/model/find_request.h"

namespace hokan::scp {

// A C-FIND identifier as plain values: the request for the index, and what
// the responses must carry.
struct FindIdentifier {
  // keys: every attribute of the identifier in its order, values in UTF-8,
  // plus the level's unique key when the identifier lacks it.
  archive::FindRequest request;
  std::string character_set;  // the identifier's Specific Character Set, as sent
  // Whether character_set writes printable ASCII (0x20-0x7E) as it is, so
  // that such values go into responses unconverted.
  bool ascii_as_is = false;
  std::vector<DcmEVR> key_vrs;  // the dictionary VR of each request key, same order
  // Per request key: the dictionary VR of each sub-key of its item (empty
  // for keys that are not sequences).
  std::vector<std::vector<DcmEVR>> item_vrs;
};

struct FindIdentifierResult {
  bool ok = false;
  std::string error;  // names the offending attribute; for the Error Comment
  // The identifier exceeds IdentifierLimits (error names the limit); it
  // was not parsed.
  bool too_large = false;
  FindIdentifier identifier;
};

// The bounds on a C-FIND, C-MOVE or C-GET identifier ([archive]
// max_identifier_keys, max_identifier_bytes).
struct IdentifierLimits {
  std::size_t max_keys = 256;           // elements, counting those in items
  std::size_t max_bytes = 1024 * 1024;  // encoded, explicit VR little endian
};

IdentifierLimits IdentifierLimitsOf(const archive::ArchiveConfig& config);

// Converts a C-FIND request identifier: Query/Retrieve Level (required,
// PATIENT, STUDY, SERIES or IMAGE), every other attribute as a key with its
// value converted to UTF-8 from the identifier's Specific Character Set.
// A sequence attribute becomes a key with the sub-keys of its single item
// (more than one item is refused); a supported sequence without items or
// with an empty item asks for every item attribute the index keeps.
// `facility_ids` is the caller's scope. An identifier beyond `limits` is
// refused first (too_large), before any key is read. Never throws.
FindIdentifierResult ParseFindIdentifier(DcmDataset& identifier,
                                         archive::InformationModel model,
                                         const std::vector<std::int64_t>& facility_ids,
                                         const IdentifierLimits& limits = {});

// One C-FIND response identifier: Specific Character Set, Query/Retrieve
// Level and every key of the request with its matched value (empty where
// the index has none; sequences with their matching items, each with the
// requested sub-keys). Text is encoded in the query's character set when it
// can express every value, otherwise in ISO_IR 192 (UTF-8).
std::unique_ptr<DcmDataset> BuildFindResponse(const FindIdentifier& identifier,
                                              const archive::FindMatch& match);

// The same responses as BuildFindResponse, for the matches of one C-FIND:
// when no key is a sequence, one data set serves every match whose values
// the query's character set expresses, and only its values change (no
// element is allocated or freed per match); other matches are built by
// BuildFindResponse. `identifier` must outlive the builder.
class FindResponseBuilder {
 public:
  explicit FindResponseBuilder(const FindIdentifier& identifier);
  ~FindResponseBuilder();
  FindResponseBuilder(const FindResponseBuilder&) = delete;
  FindResponseBuilder& operator=(const FindResponseBuilder&) = delete;

  // The response for `match`; valid until the next call.
  DcmDataset& For(const archive::FindMatch& match);

 private:
  const FindIdentifier& identifier_;
  bool query_is_utf8_;
  std::unique_ptr<DcmDataset> reused_;  // nullptr: build every response
  std::vector<DcmElement*> elements_;   // reused_'s element of each key
  std::vector<std::string> texts_;      // the encoded values, reused
  std::unique_ptr<DcmDataset> built_;
};

// The information model of a Query/Retrieve SOP class (FIND, MOVE or GET,
// Patient Root or Study Root); nullopt for any other SOP class.
std::optional<archive::InformationModel> InformationModelOf(const std::string& sop_class_uid);

// The DICOM name of a level: "PATIENT", "STUDY", "SERIES" or "IMAGE".
const char* LevelName(archive::QueryLevel level);

}  // namespace hokan::scp
