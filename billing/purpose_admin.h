#pragma once

// Purposes of retrieval as the administrator manages them (`hokan purpose`;
// tables purposes and purpose_grants, schema 010). Every change writes its
// audit row (purpose.add, purpose.change, purpose.grant, purpose.revoke) in
// the same transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "billing/admin_input.h"

namespace hokan::archive {
class Database;
}

namespace hokan::billing {

// Everything a purpose is configured with.
struct PurposeSettings {
  std::string name;
  std::string called_ae_title;
  std::string description;
  std::vector<std::string> modalities;  // "*": every modality
  std::vector<std::string> sop_class_uids;
  std::optional<int> max_rows;  // nullopt: no limit
  std::optional<int> max_columns;
  std::string pixel_rights = "original";  // "original" | "lossy_only"
  ReportRights reports;
};

// The options of `purpose change`; nullopt = not given. A limit of nullopt
// inside a given option removes the limit.
struct PurposeChange {
  std::optional<std::string> called_ae_title;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> modalities;
  std::optional<std::vector<std::string>> sop_class_uids;
  std::optional<std::optional<int>> max_rows;
  std::optional<std::optional<int>> max_columns;
  std::optional<std::string> pixel_rights;
  std::optional<ReportRights> reports;
};

// `current` with `change` applied. Pure. Throws hokan::Error(kInvalidInput)
// when the result has no range (RequireRange).
PurposeSettings ApplyPurposeChange(const PurposeSettings& current, const PurposeChange& change);

// "field: before -> after" for each field that differs, in a fixed order;
// empty when nothing differs. Pure.
std::vector<std::string> DescribePurposeChanges(const PurposeSettings& before,
                                                const PurposeSettings& after);

// One line: "called AE HOKAN_REF, modalities CT,MR, max 512x512, original,
// reports none".
std::string SummarizePurpose(const PurposeSettings& settings);

// A purpose as listed, with the callers granted it.
struct PurposeListing {
  std::int64_t id = 0;
  PurposeSettings settings;
  std::vector<std::string> granted_callers;  // "AE@facility", sorted
};

// Reads and writes purposes and grants. Thread-safe (each call leases its
// own connection). A refused write changes nothing and throws
// hokan::Error(kInvalidInput) naming the purpose, AE title or option at
// fault: an unknown purpose, a name or called AE title another purpose
// has, a purpose without range, a change that changes nothing, a grant
// that exists or an AE title no facility knows as a caller
// (application_entities), a revoke of a grant that does not exist.
// PostgreSQL failures throw hokan::Error(kDatabase).
class PurposeAdmin {
 public:
  explicit PurposeAdmin(archive::Database& database);  // must outlive this

  // Adds a purpose (settings already parsed, RequireRange checked here
  // too); returns its id.
  std::int64_t Add(const PurposeSettings& settings, const std::string& actor);

  // Applies `change` to purpose `name`; returns the new settings.
  PurposeSettings Change(const std::string& name, const PurposeChange& change,
                         const std::string& actor);

  // Every purpose, by name.
  std::vector<PurposeListing> List();

  // Lets calling AE `ae_title` of `facility` retrieve under purpose `name`,
  // or stops it. `facility` may be left out when only one facility has
  // `ae_title` as a caller (Grant) or a grant (Revoke); otherwise the call
  // is refused, naming the facilities. The same AE title at another
  // facility is not granted (schema 018).
  void Grant(const std::string& name, const std::string& ae_title,
             const std::optional<std::string>& facility, const std::string& actor);
  void Revoke(const std::string& name, const std::string& ae_title,
              const std::optional<std::string>& facility, const std::string& actor);

 private:
  archive::Database& database_;
};

}  // namespace hokan::billing
