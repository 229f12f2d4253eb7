#pragma once

// The offline export's view of PostgreSQL (schema 005 contracts and
// studies, schema 009 offline_exports): which facilities are deluxe, what
// a facility received since its last export, and the export records.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/index/audit_log.h"

namespace hokan::archive {

class Database;

// The facility's current contract, as far as exports care.
struct ExportContract {
  std::string facility_name;
  std::string service_class;  // "economy" or "deluxe"
  std::string export_at;      // "HH:MM:SS" UTC; "" unless deluxe
};

// A facility whose current contract is deluxe.
struct DeluxeFacility {
  std::int64_t facility_id = 0;
  std::string name;
  std::string export_at;  // "HH:MM:SS" UTC
};

// One stored instance of a study that is due for export.
struct ExportSourceInstance {
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string sop_instance_uid;
  std::string relative_path;  // below the storage root
  std::int64_t size_bytes = 0;
  std::string study_last_received_at;  // UTC with microseconds
};

// One study of a recorded export.
struct ExportedStudy {
  std::string study_instance_uid;
  std::string media_folder;  // "DICOM/ST000001"
  int instances = 0;
  std::int64_t bytes = 0;
  std::string last_received_at;  // as ExportSourceInstance has it; "" for NULL
};

// One recorded export (a row of offline_exports).
struct OfflineExportRecord {
  std::int64_t id = 0;
  std::int64_t facility_id = 0;
  std::string facility_name;
  std::string folder;
  std::string cut_off;           // UTC with microseconds
  std::string previous_cut_off;  // "" for the facility's first export
  int studies = 0;
  int instances = 0;
  std::int64_t bytes = 0;
  int refused_instances = 0;
  std::string started_at;   // UTC, whole seconds
  std::string finished_at;  // UTC, whole seconds
  std::string node;
  std::string actor;
};

// Thread-safe; every call runs in its own transaction. Database failures
// throw hokan::Error(kDatabase).
class ExportIndex {
 public:
  explicit ExportIndex(Database& database);  // must outlive this

  // The id of the facility named `name`; nullopt when unknown.
  std::optional<std::int64_t> FacilityId(const std::string& name);

  // The contract of `facility_id` that is not superseded and holds the UTC
  // date of `now`; nullopt when it has none (or the facility is unknown).
  std::optional<ExportContract> CurrentContract(std::int64_t facility_id, TimePoint now);

  // Every facility whose current contract (at `now`) is deluxe.
  std::vector<DeluxeFacility> DeluxeFacilities(TimePoint now);

  // The cut-off of the facility's latest recorded export; nullopt if none.
  std::optional<TimePoint> LastCutOff(std::int64_t facility_id);

  // The export of `facility_id` recorded with exactly `cut_off`, if any.
  std::optional<OfflineExportRecord> FindByCutOff(std::int64_t facility_id, TimePoint cut_off);

  // The instances of the facility's studies with after < last_received_at
  // <= until (no lower bound when `after` is nullopt), grouped by study
  // (oldest received first) and series, in one consistent snapshot.
  std::vector<ExportSourceInstance> InstancesDue(std::int64_t facility_id,
                                                 const std::optional<TimePoint>& after,
                                                 TimePoint until);

  // Records `record` (id, facility_name ignored), its studies and `audit`
  // in one transaction and returns the new id. Records nothing and returns
  // nullopt when the facility's latest cut-off is no longer
  // record.previous_cut_off (another export was recorded meanwhile).
  std::optional<std::int64_t> Record(const OfflineExportRecord& record,
                                     const std::vector<ExportedStudy>& studies,
                                     const AuditEntry& audit);

  // Recorded exports, newest cut-off first, of one facility when given.
  std::vector<OfflineExportRecord> List(const std::optional<std::int64_t>& facility_id);

 private:
  Database& database_;
};

}  // namespace hokan::archive
