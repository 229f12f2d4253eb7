#pragma once

// Purposes of retrieval and their available ranges, as the archive's DICOM
// edge needs them: which purpose an association has (decided by the called
// AE title and the calling AE's grants) and what that purpose may get.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/index/database.h"

namespace hokan::billing {

// What a purpose may retrieve.
struct AvailableRange {
  std::vector<std::string> modalities;      // "*": every modality
  std::vector<std::string> sop_class_uids;  // listed classes are in range whatever the modality
  std::optional<int> max_rows;              // larger images are downscaled
  std::optional<int> max_columns;
  bool lossy_only = false;                  // a lossy-compressed copy, never the original pixels
  bool may_retrieve_reports = false;
  bool may_store_reports = false;
  // Whether an instance is in range is archive::InRange
  // (archive/model/available_range.h), the one definition C-FIND runs as
  // SQL and retrieval in C++.
};

struct Purpose {
  std::int64_t id = 0;
  std::string name;
  std::string called_ae_title;
  AvailableRange range;
};

// Reads purposes and grants from PostgreSQL (schema/010_billing.sql).
// Thread-safe. Methods throw hokan::Error(kDatabase) when PostgreSQL fails.
class PurposeDirectory {
 public:
  explicit PurposeDirectory(archive::Database& database);

  // The purpose answered on `called_ae_title`; nullopt when none is.
  std::optional<Purpose> ForCalledAe(const std::string& called_ae_title);
  // Whether `calling_ae_title`, a caller of facility `facility_id`, may use
  // purpose `purpose_id` (a grant names the facility: the same AE title at
  // another facility is not granted).
  bool IsGranted(std::int64_t purpose_id, std::int64_t facility_id,
                 const std::string& calling_ae_title);
  // Every purpose's called AE title (the archive answers on these too).
  std::vector<std::string> CalledAeTitles();

 private:
  archive::Database& database_;
};

}  // namespace hokan::billing
