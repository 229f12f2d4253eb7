#pragma once

// Legal holds on studies (studies.legal_hold, hold_reason; schema 005): a
// held study is never expired nor recycled, whatever its expires_at.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hokan::archive {

class Database;

struct HeldStudy {
  std::string facility;
  std::string study_instance_uid;
  std::string patient_id;
  std::string study_date;  // DICOM DA as stored, may be ""
  std::string hold_reason;
  std::optional<std::string> expires_at;  // UTC; nullopt = never
};

// Thread-safe. Every write records its audit row in the same transaction.
// Throws hokan::Error(kInvalidInput), changing nothing, for an unknown
// facility (names --facility) or study (names --study);
// hokan::Error(kDatabase) when PostgreSQL fails.
class LegalHolds {
 public:
  explicit LegalHolds(Database& database);  // must outlive this

  // Puts the study on hold with `reason` (required, not blank; names
  // --reason). A study already held gets the new reason. Audit "hold.set".
  void Set(const std::string& facility, const std::string& study_instance_uid,
           const std::string& reason, const std::string& actor);

  // Releases the hold. Throws kInvalidInput when the study is not held.
  // Audit "hold.release" (detail: the hold's reason).
  void Release(const std::string& facility, const std::string& study_instance_uid,
               const std::string& reason, const std::string& actor);

  // Held studies of `facility` (all facilities when nullopt), by facility
  // and Study Instance UID.
  std::vector<HeldStudy> List(const std::optional<std::string>& facility);

 private:
  Database& database_;
};

}  // namespace hokan::archive
