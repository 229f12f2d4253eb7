#pragma once

// The terms of a contract as `hokan contract` takes and shows them, and the
// consistency rules of table contracts (schema 005), without a database.
// Every function here is pure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/rules/storage_period.h"

namespace hokan::archive {

// One version of a contract: everything a facility designated. Enumerations
// are spelled as in the database ("on_receipt", "patient_opt_in", …).
struct ContractTerms {
  std::string service_period;  // "annual" | "monthly"
  CivilDate starts_on;
  CivilDate ends_on;                      // inclusive
  std::string backup_timing;              // "on_receipt" | "nightly" | "per_exam"
  std::optional<std::string> nightly_at;  // "HH:MM" UTC; iff nightly
  std::optional<int> exam_quiet_minutes;  // iff per_exam
  std::string
      data_kept;  // "all" | "patient_opt_in" | "patient_opt_out" | "per_exam" | "per_modality"
  std::vector<std::string> kept_modalities;  // non-empty iff per_modality
  std::int64_t quota_bytes = 0;              // > 0
  std::string over_quota = "refuse";         // "refuse" | "recycle"
  std::string service_class;                 // "economy" | "deluxe"
  std::optional<std::string> export_at;      // "HH:MM" UTC; iff deluxe
  std::string default_storage_period;        // canonical (FormatStoragePeriod)
  int expiry_grace_days = 90;                // >= 0
  std::string note;
};

// The options of `contract add` and `contract change` exactly as typed;
// nullopt = not given.
struct ContractOptions {
  std::optional<std::string> service_period;      // --service-period
  std::optional<std::string> start;               // --start
  std::optional<std::string> end;                 // --end
  std::optional<std::string> backup_timing;       // --backup-timing
  std::optional<std::string> nightly_at;          // --nightly-at
  std::optional<std::string> exam_quiet_minutes;  // --exam-quiet-minutes
  std::optional<std::string> data_kept;           // --data-kept
  std::optional<std::string> modalities;          // --modalities
  std::optional<std::string> quota;               // --quota
  std::optional<std::string> over_quota;          // --over-quota
  std::optional<std::string> service_class;       // --service-class
  std::optional<std::string> export_at;           // --export-at
  std::optional<std::string> storage_period;      // --storage-period
  std::optional<std::string> grace_days;          // --grace-days
  std::optional<std::string> note;                // --note
  bool Empty() const;
};

// Per-exam backup waits this long after a study's last instance when
// --exam-quiet-minutes is not given; deluxe exports at kDefaultExportAt.
inline constexpr int kDefaultExamQuietMinutes = 60;
inline constexpr const char* kDefaultExportAt = "02:00";

// The terms `options` describe, on top of `current` (a change) or of nothing
// (an add: --service-period, --start, --end, --backup-timing, --data-kept,
// --quota, --service-class and --storage-period are then required).
// Dependent values follow their switch: leaving nightly, per-exam,
// per-modality or deluxe drops nightly_at, exam_quiet_minutes,
// kept_modalities or export_at; entering them takes the option, else the
// default above (--nightly-at and --modalities have none). Throws
// hokan::Error(kInvalidInput) with a message that starts with the option
// at fault ("--end 2026-01-01 is before --start 2026-02-01") for a missing
// required option, a bad value, a dependent option without its switch,
// end before start.
ContractTerms ResolveContractTerms(const std::optional<ContractTerms>& current,
                                   const ContractOptions& options);

// "field: before -> after" for each field that differs, in a fixed order;
// empty when the terms are the same.
std::vector<std::string> DescribeChanges(const ContractTerms& before, const ContractTerms& after);

// One line: "annual 2026-01-01..2026-12-31, on-receipt, all, quota 500 GiB
// (refuse), economy, keep 10y, grace 90d".
std::string SummarizeTerms(const ContractTerms& terms);

// What a contract is worth in accounting points: annual 10 per year,
// monthly 1 per month, a started year or month counting whole.
struct AccountingPoints {
  int periods = 0;   // years (annual) or months (monthly) covered
  std::string unit;  // "year" | "month"
  int points = 0;
};
AccountingPoints PointsOf(const ContractTerms& terms);

// "500G" → 536870912000: digits with an optional K, M, G or T suffix
// (powers of 1024, either case). Throws hokan::Error(kInvalidInput) naming
// `option` for anything else, zero, a negative amount or more than 2^63-1.
std::int64_t ParseByteCount(const std::string& option, const std::string& text);

// Human readable, powers of 1024: "512 B", "1.5 KiB", "500 GiB" (one
// decimal when not whole; negative values keep their sign).
std::string FormatBytes(std::int64_t bytes);

// "YYYY-MM-DD" naming a real calendar day (years 1900-9999); nullopt otherwise.
std::optional<CivilDate> ParseIsoDate(const std::string& text);
std::string FormatIsoDate(const CivilDate& date);

// Orders dates: negative, 0, positive as a is before, equal, after b.
int CompareDates(const CivilDate& a, const CivilDate& b);

// "on_receipt" → "on-receipt": how the command line spells a stored value.
std::string OptionSpelling(const std::string& stored);

}  // namespace hokan::archive
