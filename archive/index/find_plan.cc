#include "archive/index/find_plan.h"

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

// The unique key of a level in the Patient Root model: Patient ID for
// PATIENT, the UID for the others. Study Root has no patient unique key.
bool IsUniqueKey(InformationModel model, const QueryAttribute& attribute) {
  switch (attribute.tag) {
    case 0x00100020: return model == InformationModel::kPatientRoot;  // PatientID
    case 0x0020000D:                                                  // StudyInstanceUID
    case 0x0020000E:                                                  // SeriesInstanceUID
    case 0x00080018:                                                  // SOPInstanceUID
      return true;
    default: return false;
  }
}

// The sub-keys of a sequence key, planned; whether any of them matches.
bool PlanItem(const QueryKey& key, std::vector<PlannedKey>& item) {
  bool matches = false;
  for (const QueryKey& sub_key : key.item) {
    PlannedKey planned;
    planned.attribute = FindSequenceItemAttribute(key.tag, sub_key.tag);
    if (planned.attribute != nullptr) {
      if (sub_key.sequence) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{} in {}: is not a sequence", DescribeTag(sub_key.tag),
                                DescribeTag(key.tag)));
      }
      planned.match = ParseKeyMatch(*planned.attribute, sub_key.value);
      matches = matches || planned.match.kind != MatchKind::kUniversal;
    }
    item.push_back(std::move(planned));
  }
  return matches;
}

}  // namespace

QueryLevel LevelIn(InformationModel model, const QueryAttribute& attribute) {
  if (model == InformationModel::kStudyRoot && attribute.level == QueryLevel::kPatient) {
    return QueryLevel::kStudy;
  }
  return attribute.level;
}

FindPlan PlanFind(const FindRequest& request) {
  if (request.facility_ids.empty()) {
    throw Error(ErrorCode::kInternal, "C-FIND without a facility scope");
  }
  if (request.model == InformationModel::kStudyRoot && request.level == QueryLevel::kPatient) {
    throw Error(ErrorCode::kInvalidInput, "Study Root has no PATIENT level");
  }
  FindPlan plan{request.model, request.level, {}};
  plan.keys.reserve(request.keys.size());
  for (const QueryKey& key : request.keys) {
    PlannedKey planned;
    const QueryAttribute* attribute = FindQueryAttribute(key.tag);
    if (attribute == nullptr) {
      plan.keys.push_back(planned);
      continue;
    }
    KeyMatch match;
    std::vector<PlannedKey> item;
    if (attribute->match == MatchType::kSequence) {
      if (!key.sequence) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}: must be sent as a sequence", DescribeTag(key.tag)));
      }
      if (PlanItem(key, item)) match.kind = MatchKind::kSingle;
    } else if (key.sequence) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{}: is not a sequence", DescribeTag(key.tag)));
    } else {
      match = ParseKeyMatch(*attribute, key.value);
    }
    const QueryLevel level = LevelIn(request.model, *attribute);
    if (level > request.level) {
      if (match.kind != MatchKind::kUniversal) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}: a {} key cannot be matched in a {}-level query",
                                DescribeTag(key.tag), QueryLevelName(level),
                                QueryLevelName(request.level)));
      }
      plan.keys.push_back(planned);  // below the query level: returned empty
      continue;
    }
    if (level < request.level && IsUniqueKey(request.model, *attribute) &&
        (match.kind == MatchKind::kWildcard || match.kind == MatchKind::kList)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{}: the unique key of the {} level must be a single value or "
                              "empty in a {}-level query",
                              DescribeTag(key.tag), QueryLevelName(level),
                              QueryLevelName(request.level)));
    }
    planned.attribute = attribute;
    planned.match = std::move(match);
    planned.item = std::move(item);
    plan.keys.push_back(std::move(planned));
  }
  return plan;
}

}  // namespace hokan::archive
