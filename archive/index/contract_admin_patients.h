#pragma once

// Per-patient choices of a facility (table patient_choices, schema 005):
// whether a patient opted in or out of storage, which data_kept
// patient-opt-in / patient-opt-out contracts and the patient_opted_out rule
// condition read.

#include <cstdint>
#include <string>
#include <vector>

namespace hokan::archive {

class Database;

struct PatientChoiceRow {
  std::string patient_id;
  std::string choice;       // "opt_in" | "opt_out"
  std::string recorded_at;  // UTC, "2026-11-22T19:05:17Z"
  std::string recorded_by;
  std::string reason;
};

// Thread-safe. Every write records its audit row in the same transaction.
// Throws hokan::Error(kInvalidInput) for an unknown facility (message names
// --facility) or a Patient ID that is empty or longer than 64 characters
// (names --patient-id), changing nothing; hokan::Error(kDatabase) when
// PostgreSQL fails.
class PatientChoices {
 public:
  explicit PatientChoices(Database& database);  // must outlive this

  // Records `choice` ("opt_in" | "opt_out") for the patient, replacing an
  // earlier one. Audit "patient.opt_in" / "patient.opt_out" (detail says
  // what it replaced). Returns the earlier choice, "" when none.
  std::string Record(const std::string& facility, const std::string& patient_id,
                     const std::string& choice, const std::string& actor,
                     const std::string& reason);

  // Removes the patient's choice. Audit "patient.clear". Throws
  // kInvalidInput when the patient has no recorded choice.
  void Clear(const std::string& facility, const std::string& patient_id, const std::string& actor,
             const std::string& reason);

  // The facility's choices, by Patient ID.
  std::vector<PatientChoiceRow> List(const std::string& facility);

 private:
  Database& database_;
};

}  // namespace hokan::archive
