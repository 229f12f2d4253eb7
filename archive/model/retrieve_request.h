#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/model/find_request.h"

namespace hokan::archive {

// What a C-MOVE or C-GET asks for (PS3.4 C.4.2.1.4 and C.4.3.1.3): unique
// keys only, as plain values. Each list holds the UIDs (or Patient IDs) the
// identifier gave for that level; an empty list does not restrict.
//   PATIENT level: patient_ids required (Patient Root only).
//   STUDY level:   study_instance_uids required.
//   SERIES level:  series_instance_uids required.
//   IMAGE level:   sop_instance_uids required.
struct RetrieveRequest {
  InformationModel model = InformationModel::kStudyRoot;
  QueryLevel level = QueryLevel::kStudy;
  std::vector<std::string> patient_ids;
  std::vector<std::string> study_instance_uids;
  std::vector<std::string> series_instance_uids;
  std::vector<std::string> sop_instance_uids;
  // Scope, as in FindRequest. REQUIRES: non-empty.
  std::vector<std::int64_t> facility_ids;
  bool include_shared_patients = false;
};

// One stored instance to send.
struct StoredInstance {
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::string transfer_syntax_uid;  // as stored
  std::string relative_path;        // below the storage root
  // Where it belongs, for available ranges and fee events.
  std::string study_instance_uid;
  std::string modality;             // its series' Modality ("" if none)
  std::int64_t facility_id = 0;     // the owner of its patient
  int rows = 0;                     // 0 when the instance has no pixel matrix
  int columns = 0;
};

}  // namespace hokan::archive
