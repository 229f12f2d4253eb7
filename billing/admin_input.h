#pragma once

// The values `hokan purpose`, `hokan fee`, `hokan price` and `hokan billing`
// take, checked before anything touches the database. Pure functions. Each
// Parse* throws hokan::Error(kInvalidInput) with a message that starts with
// the option and quotes the text ("--amount '-5' must be ..."), so the
// command exits 2 and writes nothing.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/rules/storage_period.h"

namespace hokan::billing {

// A purpose name: a lowercase letter, then up to 31 of a-z 0-9 _ - .
std::string ParsePurposeName(const std::string& text);

// An AE title: 1-16 characters, no backslash, no leading or trailing space.
std::string ParseAeTitle(const std::string& option, const std::string& text);

// One modality code (CT, MR, ...): 1-16 of A-Z 0-9, lowercase accepted and
// uppercased.
std::string ParseModality(const std::string& option, const std::string& text);

// A comma-separated list of modality codes, or "*" alone (every modality);
// "" is the empty list. Duplicates are dropped, order kept.
std::vector<std::string> ParseModalities(const std::string& option, const std::string& text);

// A comma-separated list of SOP Class UIDs (digits and dots, at most 64
// characters, no empty component); "" is the empty list.
std::vector<std::string> ParseSopClassUids(const std::string& option, const std::string& text);

// A purpose needs a range: at least one modality or SOP class. Throws
// naming the purpose and the options that give one.
void RequireRange(const std::string& purpose, const std::vector<std::string>& modalities,
                  const std::vector<std::string>& sop_class_uids);

// --max-rows / --max-columns: 16-65535, or "none" (no limit: nullopt).
std::optional<int> ParseImageLimit(const std::string& option, const std::string& text);

// --pixel-rights: "original" or "lossy_only" ("lossy-only" accepted);
// returns the stored spelling.
std::string ParsePixelRights(const std::string& text);

// --reports: retrieve | store | both | none.
struct ReportRights {
  bool may_retrieve = false;
  bool may_store = false;
};
ReportRights ParseReportRights(const std::string& text);
std::string FormatReportRights(const ReportRights& rights);

// An amount in integer minor units (yen for JPY, cents for USD): digits
// only, 0 allowed, at most 2^63-1. A sign, a decimal point or anything else
// is refused (a negative amount names itself).
std::int64_t ParseAmountMinor(const std::string& option, const std::string& text);

// An ISO 4217 code: three letters A-Z (lowercase refused with a hint).
std::string ParseCurrency(const std::string& option, const std::string& text);

// A calendar day YYYY-MM-DD.
archive::CivilDate ParseDay(const std::string& option, const std::string& text);

// A billing month "YYYY-MM" (years 2000-9999, months 01-12), UTC.
struct BillingMonth {
  int year = 0;
  int month = 0;
  friend bool operator==(const BillingMonth& a, const BillingMonth& b) {
    return a.year == b.year && a.month == b.month;
  }
};
BillingMonth ParseBillingMonth(const std::string& option, const std::string& text);
std::string FormatBillingMonth(const BillingMonth& month);
BillingMonth MonthOf(const archive::CivilDate& day);

// Days in a calendar month (28-31).
int DaysInMonth(int year, int month);

// The items of the price list (table price_list): accounting_point,
// storage_gb_month, quota_overage_gb_month, offline_export.
std::string ParsePriceItem(const std::string& text);

// --format: "table" (default) or "csv".
std::string ParseOutputFormat(const std::string& text);

}  // namespace hokan::billing
