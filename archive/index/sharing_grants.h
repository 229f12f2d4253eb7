#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/index/database.h"

namespace hokan::archive {

// One grant: `owner_facility` lets `grantee_facility` find and retrieve the
// data of the patient `patient_id` (the owner's Patient ID).
struct SharingGrant {
  std::int64_t id = 0;
  std::string owner_facility;
  std::string grantee_facility;
  std::string patient_id;
  std::string reason;
  std::string granted_by;
  std::string granted_at;                 // UTC, ISO 8601
  std::optional<std::string> revoked_by;  // set once revoked
  std::optional<std::string> revoked_at;
};

// Sharing grants in PostgreSQL. A grant is active until revoked; revoked
// grants are kept for the record. Thread-safe.
class SharingGrants {
 public:
  explicit SharingGrants(Database& database);

  // Creates an active grant and returns its id. Throws hokan::Error
  // (kInvalidInput) naming the problem for an unknown facility, owner equal
  // to grantee, an empty Patient ID or an active grant for the same owner,
  // grantee and patient; (kDatabase) when PostgreSQL fails.
  std::int64_t Grant(const std::string& owner_facility, const std::string& grantee_facility,
                     const std::string& patient_id, const std::string& reason,
                     const std::string& granted_by);

  // Revokes the active grant `id`. Throws hokan::Error(kInvalidInput) when
  // there is no active grant with that id.
  void Revoke(std::int64_t id, const std::string& revoked_by);

  // Grants where `facility` (if given) is owner or grantee, newest first;
  // revoked ones only with `include_revoked`. Throws hokan::Error
  // (kInvalidInput) for an unknown facility.
  std::vector<SharingGrant> List(const std::optional<std::string>& facility,
                                 bool include_revoked);

 private:
  Database& database_;
};

}  // namespace hokan::archive
