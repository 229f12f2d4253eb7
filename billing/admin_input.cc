#include "billing/admin_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"

namespace hokan::billing {
namespace {

[[noreturn]] void Refuse(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    parts.push_back(part);
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

void AddUnique(std::vector<std::string>& values, const std::string& value) {
  if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
}

bool AllDigits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string ParsePurposeName(const std::string& text) {
  const bool shape =
      !text.empty() && text.size() <= 32 && text[0] >= 'a' && text[0] <= 'z' &&
      text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
  if (!shape) {
    Refuse(fmt::format(
        "purpose name '{}' must be a lowercase letter followed by up to 31 of a-z, 0-9, _ and -",
        text));
  }
  return text;
}

std::string ParseAeTitle(const std::string& option, const std::string& text) {
  const bool shape = !text.empty() && text.size() <= 16 && text.find('\\') == std::string::npos &&
                     text.front() != ' ' && text.back() != ' ';
  if (!shape) {
    Refuse(
        fmt::format("{} '{}' is not an AE title (1 to 16 characters, no backslash, no "
                    "leading or trailing space)",
                    option, text));
  }
  return text;
}

std::string ParseModality(const std::string& option, const std::string& text) {
  std::string code = text;
  std::transform(code.begin(), code.end(), code.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (code.empty() || code.size() > 16 ||
      code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos) {
    Refuse(fmt::format("{} '{}' is not a modality code such as CT or MR", option, text));
  }
  return code;
}

std::vector<std::string> ParseModalities(const std::string& option, const std::string& text) {
  std::vector<std::string> modalities;
  if (text.find_first_not_of(' ') == std::string::npos) return modalities;
  const auto parts = SplitCommas(text);
  for (const auto& part : parts) {
    if (part == "*") {
      if (parts.size() > 1) {
        Refuse(fmt::format("{} '{}': '*' (every modality) stands alone", option, text));
      }
      return {"*"};
    }
    if (part.empty()) Refuse(fmt::format("{} '{}' has an empty entry", option, text));
    AddUnique(modalities, ParseModality(option, part));
  }
  return modalities;
}

std::vector<std::string> ParseSopClassUids(const std::string& option, const std::string& text) {
  std::vector<std::string> uids;
  if (text.find_first_not_of(' ') == std::string::npos) return uids;
  for (const auto& part : SplitCommas(text)) {
    const bool shape = !part.empty() && part.size() <= 64 &&
                       part.find_first_not_of("0123456789.") == std::string::npos &&
                       part.front() != '.' && part.back() != '.' &&
                       part.find("..") == std::string::npos;
    if (!shape) {
      Refuse(fmt::format("{} '{}' is not a SOP Class UID such as 1.2.840.10008.5.1.4.1.1.2", option,
                         part));
    }
    AddUnique(uids, part);
  }
  return uids;
}

void RequireRange(const std::string& purpose, const std::vector<std::string>& modalities,
                  const std::vector<std::string>& sop_class_uids) {
  if (modalities.empty() && sop_class_uids.empty()) {
    Refuse(
        fmt::format("purpose '{}' has no range: give --modalities (e.g. CT,MR or *) or "
                    "--sop-classes (SOP Class UIDs)",
                    purpose));
  }
}

std::optional<int> ParseImageLimit(const std::string& option, const std::string& text) {
  if (text == "none") return std::nullopt;
  if (!AllDigits(text) || text.size() > 5 || std::stoi(text) < 16 || std::stoi(text) > 65535) {
    Refuse(fmt::format("{} '{}' must be a whole number of pixels from 16 to 65535, or none", option,
                       text));
  }
  return std::stoi(text);
}

std::string ParsePixelRights(const std::string& text) {
  if (text == "original") return "original";
  if (text == "lossy_only" || text == "lossy-only") return "lossy_only";
  Refuse(fmt::format("--pixel-rights '{}' is not one of original, lossy_only", text));
}

ReportRights ParseReportRights(const std::string& text) {
  if (text == "none") return {false, false};
  if (text == "retrieve") return {true, false};
  if (text == "store") return {false, true};
  if (text == "both") return {true, true};
  Refuse(fmt::format("--reports '{}' is not one of retrieve, store, both, none", text));
}

std::string FormatReportRights(const ReportRights& rights) {
  if (rights.may_retrieve && rights.may_store) return "both";
  if (rights.may_retrieve) return "retrieve";
  if (rights.may_store) return "store";
  return "none";
}

std::int64_t ParseAmountMinor(const std::string& option, const std::string& text) {
  if (!text.empty() && text[0] == '-') {
    Refuse(fmt::format("{} '{}' is negative; amounts are 0 or more", option, text));
  }
  if (!AllDigits(text)) {
    Refuse(
        fmt::format("{} '{}' must be a whole number of minor units (e.g. 1500 for 1500 JPY, "
                    "1999 for 19.99 USD)",
                    option, text));
  }
  const std::string digits = text.substr(std::min(text.find_first_not_of('0'), text.size() - 1));
  const std::string maximum = std::to_string(std::numeric_limits<std::int64_t>::max());
  if (digits.size() > maximum.size() || (digits.size() == maximum.size() && digits > maximum)) {
    Refuse(fmt::format("{} '{}' is too large", option, text));
  }
  return std::stoll(digits);
}

std::string ParseCurrency(const std::string& option, const std::string& text) {
  const bool letters = text.size() == 3 && std::all_of(text.begin(), text.end(), [](char c) {
                         return std::isalpha(static_cast<unsigned char>(c));
                       });
  if (!letters) {
    Refuse(fmt::format("{} '{}' is not an ISO 4217 currency code such as JPY", option, text));
  }
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    std::string upper = text;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    Refuse(fmt::format("{} '{}' must be in capitals: {}", option, text, upper));
  }
  return text;
}

archive::CivilDate ParseDay(const std::string& option, const std::string& text) {
  const auto day = archive::ParseIsoDate(text);
  if (!day) Refuse(fmt::format("{} '{}' is not a calendar date YYYY-MM-DD", option, text));
  return *day;
}

BillingMonth ParseBillingMonth(const std::string& option, const std::string& text) {
  const bool shape = text.size() == 7 && text[4] == '-' && AllDigits(text.substr(0, 4)) &&
                     AllDigits(text.substr(5, 2));
  if (shape) {
    const BillingMonth month{std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2))};
    if (month.year >= 2000 && month.month >= 1 && month.month <= 12) return month;
  }
  Refuse(fmt::format("{} '{}' is not a month YYYY-MM (e.g. 2026-11)", option, text));
}

std::string FormatBillingMonth(const BillingMonth& month) {
  return fmt::format("{:04}-{:02}", month.year, month.month);
}

BillingMonth MonthOf(const archive::CivilDate& day) { return {day.year, day.month}; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::string ParsePriceItem(const std::string& text) {
  for (const char* item :
       {"accounting_point", "storage_gb_month", "quota_overage_gb_month", "offline_export"}) {
    if (text == item) return text;
  }
  Refuse(
      fmt::format("price item '{}' is not one of accounting_point, storage_gb_month, "
                  "quota_overage_gb_month, offline_export",
                  text));
}

std::string ParseOutputFormat(const std::string& text) {
  if (text == "table" || text == "csv") return text;
  Refuse(fmt::format("--format '{}' is not one of table, csv", text));
}

}  // namespace hokan::billing
