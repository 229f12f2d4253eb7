#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/common/clock.h"
#include "archive/rules/storage_period.h"

namespace hokan::archive {

// What a facility's current contract says about keeping data (the parts
// ingest needs; table contracts, schema 005).
struct StorageContract {
  std::int64_t id = 0;
  std::string service_period;  // "annual" | "monthly"
  CivilDate starts_on;
  CivilDate ends_on;           // inclusive
  std::string data_kept;       // "all" | "patient_opt_in" | "patient_opt_out" | "per_exam" | "per_modality"
  std::vector<std::string> kept_modalities;  // per_modality
  std::int64_t quota_bytes = 0;
  std::string over_quota;      // "refuse" | "recycle"
  std::string service_class;   // "economy" | "deluxe"
  StoragePeriod default_storage_period;
  int expiry_grace_days = 0;
  // When the facility's relay forwards (contracts.backup_timing).
  std::string backup_timing;               // "on_receipt" | "nightly" | "per_exam"
  std::optional<int> nightly_at_minutes;   // after 00:00 UTC; iff nightly
  std::optional<int> exam_quiet_minutes;   // iff per_exam
};

// The status hokan answers C-STOREs it refuses by contract or by a rule
// without its own status: 0x0124, Refused: Not Authorized (PS3.7 C.4.2).
inline constexpr std::uint16_t kRefusedNotAuthorized = 0x0124;

// One storage rule (table storage_rules). An absent condition matches
// anything. Text conditions are DICOM wildcard patterns ('*' any run, '?'
// one character), matched case-sensitively against the trimmed value,
// except calling_ae which ignores case.
struct StorageRule {
  std::int64_t id = 0;
  std::optional<std::int64_t> facility_id;  // nullopt: global
  int position = 0;
  std::string name;
  std::optional<std::string> calling_ae;
  std::optional<std::string> modality;
  std::optional<std::string> sop_class_uid;
  std::optional<std::string> body_part;
  std::optional<std::string> study_description;
  std::optional<int> patient_age_min;  // years at the study date, inclusive
  std::optional<int> patient_age_max;  // inclusive
  std::optional<bool> patient_opted_out;
  bool accept = true;                   // false: reject
  std::uint16_t reject_status = kRefusedNotAuthorized;
  std::optional<StoragePeriod> storage_period;  // nullopt: the contract's default
  std::optional<std::string> tier;              // "hot" | "cold"; nullopt: hot
};

// The facts of one instance that rules look at.
struct IngestFacts {
  std::string calling_ae;
  std::string patient_id;
  std::string modality;
  std::string sop_class_uid;
  std::string body_part;
  std::string study_description;
  std::string study_date;          // DICOM DA, may be empty or malformed
  std::string patient_birth_date;  // DICOM DA, may be empty or malformed
  std::optional<std::string> patient_choice;  // "opt_in" | "opt_out" | nullopt
  TimePoint received_at;
};

// The outcome for one instance.
struct StorageDecision {
  bool accept = false;
  std::uint16_t status = 0;      // when refused: the DIMSE status to answer
  std::string reason;            // when refused: why, for the log and the error comment
                                 // (when accepted: which rule or contract field decided)
  std::optional<std::int64_t> rule_id;  // the rule that decided, if any
  std::string rule_name;                // its name, or "contract default"
  std::optional<TimePoint> expires_at;  // when accepted; nullopt = never
  std::string tier = "hot";
};

// Decides whether and how an instance is kept:
// 1. what the contract keeps: patient_opt_in refuses patients not opted in,
//    patient_opt_out refuses patients opted out, per_modality refuses
//    modalities not listed (status kRefusedNotAuthorized);
// 2. the first rule (in the given order: the facility's by position, then
//    the global ones) whose every condition holds decides: reject with its
//    status, or accept with its period and tier;
// 3. no rule matched: per_exam refuses (only what a rule accepts is kept);
//    otherwise accept with the contract's default period, tier hot.
// The reason names the contract field or rule. Pure.
StorageDecision DecideStorage(const StorageContract& contract,
                              const std::vector<StorageRule>& rules, const IngestFacts& facts);

// Whether `value` matches the DICOM wildcard `pattern` ('*', '?').
// '?' matches one character (one UTF-8 code point); ignore_case folds
// ASCII letters only.
bool MatchesWildcard(const std::string& pattern, const std::string& value,
                     bool ignore_case = false);

// The patient's age in whole years at the study date (the day of receipt
// when the study date is unknown or malformed); nullopt when the birth
// date is unknown or malformed. Age conditions of a rule do not hold for a
// patient of unknown age.
std::optional<int> PatientAge(const IngestFacts& facts);

// Throws hokan::Error(kInvalidInput) naming `key` when `pattern` cannot be
// a rule's text condition: empty, longer than 64 characters, or holding a
// backslash or a control character.
void ValidateWildcardPattern(const std::string& key, const std::string& pattern);

// A rule's conditions in words, e.g. "modality=MR and patient_age_max=25",
// or "any instance" when it has none.
std::string DescribeConditions(const StorageRule& rule);

// A rule's action in words, e.g. "accept, period 10y, tier cold" (absent
// period and tier: "contract default", "hot") or "reject 0x0124".
std::string DescribeAction(const StorageRule& rule);

}  // namespace hokan::archive
