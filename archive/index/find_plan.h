#pragma once

#include <vector>

#include "archive/model/find_request.h"
#include "archive/index/key_match.h"
#include "archive/model/query_attributes.h"

namespace hokan::archive {

// One request key as the index must handle it.
struct PlannedKey {
  // nullptr: not supported at this level; returned as nullopt, no condition.
  const QueryAttribute* attribute = nullptr;
  KeyMatch match;  // kUniversal when the key only returns its value
  // A sequence key: one per sub-key of its item, in order (attribute
  // nullptr for an item attribute the index does not keep). match is then
  // kSingle when any sub-key matches, else kUniversal.
  std::vector<PlannedKey> item;
};

// The validated, normalised form of a FindRequest: the DICOM rules of
// find_request.h applied, nothing of SQL yet. keys[i] belongs to
// request.keys[i].
struct FindPlan {
  InformationModel model;
  QueryLevel level;
  std::vector<PlannedKey> keys;
};

// Throws hokan::Error(kInvalidInput) for a request the rules refuse (a level
// the model lacks, a key below the query level with a value, a higher
// unique key with a wildcard or list, a malformed value), naming the key;
// hokan::Error(kInternal) when facility_ids is empty.
FindPlan PlanFind(const FindRequest& request);

// The level `attribute` belongs to in `model` (Study Root puts patient
// attributes at the STUDY level).
QueryLevel LevelIn(InformationModel model, const QueryAttribute& attribute);

}  // namespace hokan::archive
