#include "archive/index/contract_admin_terms.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "archive/common/byte_count.h"
#include "archive/common/error.h"

namespace hokan::archive {
namespace {

[[noreturn]] void Refuse(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

// The stored spelling of one of `allowed` (given with hyphens, as typed).
std::string OneOf(const std::string& option, const std::string& value,
                  const std::vector<std::string>& allowed) {
  for (const auto& spelling : allowed) {
    std::string stored = spelling;
    std::replace(stored.begin(), stored.end(), '-', '_');
    if (value == spelling || value == stored) return stored;
  }
  std::string list;
  for (const auto& spelling : allowed) list += (list.empty() ? "" : ", ") + spelling;
  Refuse(fmt::format("{} '{}' is not one of {}", option, value, list));
}

CivilDate DateOption(const std::string& option, const std::string& text) {
  const auto date = ParseIsoDate(text);
  if (!date) {
    Refuse(fmt::format("{} '{}' is not a calendar date YYYY-MM-DD", option, text));
  }
  return *date;
}

// "HH:MM", 00:00 to 23:59.
std::string TimeOfDayOption(const std::string& option, const std::string& text) {
  const bool shape = text.size() == 5 && text[2] == ':' && std::isdigit(text[0]) &&
                     std::isdigit(text[1]) && std::isdigit(text[3]) && std::isdigit(text[4]);
  if (!shape || std::stoi(text.substr(0, 2)) > 23 || std::stoi(text.substr(3, 2)) > 59) {
    Refuse(fmt::format("{} '{}' is not a time of day HH:MM (UTC, 00:00 to 23:59)", option, text));
  }
  return text;
}

int IntegerOption(const std::string& option, const std::string& text, int minimum, int maximum) {
  const bool digits = !text.empty() && text.size() <= 9 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(text) < minimum || std::stoi(text) > maximum) {
    Refuse(fmt::format("{} '{}' must be a whole number from {} to {}", option, text, minimum,
                       maximum));
  }
  return std::stoi(text);
}

// "CT,MR" → {"CT", "MR"}: DICOM Modality values (CS, upper case).
std::vector<std::string> ModalitiesOption(const std::string& text) {
  std::vector<std::string> modalities;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    std::string modality = text.substr(start, comma - start);
    modality.erase(0, modality.find_first_not_of(' '));
    modality.erase(modality.find_last_not_of(' ') + 1);
    std::transform(modality.begin(), modality.end(), modality.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (modality.empty() || modality.size() > 16 ||
        modality.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos) {
      Refuse(
          fmt::format("--modalities '{}': each modality must be a DICOM Modality such as "
                      "CT or MR (letters, digits, _; at most 16), comma-separated",
                      text));
    }
    if (std::find(modalities.begin(), modalities.end(), modality) == modalities.end()) {
      modalities.push_back(modality);
    }
    start = comma + 1;
  }
  return modalities;
}

template <typename Value>
std::string Optional(const std::optional<Value>& value) {
  if (!value) return "-";
  if constexpr (std::is_same_v<Value, std::string>) {
    return *value;
  } else {
    return std::to_string(*value);
  }
}

std::string Joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : ",") + value;
  return text.empty() ? "-" : text;
}

// --service-period, --start and --end.
void ResolveServicePeriod(const ContractOptions& options, ContractTerms& terms) {
  if (options.service_period) {
    terms.service_period =
        OneOf("--service-period", *options.service_period, {"annual", "monthly"});
  }
  if (options.start) terms.starts_on = DateOption("--start", *options.start);
  if (options.end) terms.ends_on = DateOption("--end", *options.end);
  if (CompareDates(terms.ends_on, terms.starts_on) < 0) {
    Refuse(fmt::format("--end {} is before --start {}", FormatIsoDate(terms.ends_on),
                       FormatIsoDate(terms.starts_on)));
  }
}

// --backup-timing with --nightly-at (nightly only) and --exam-quiet-minutes
// (per exam only).
void ResolveBackupTiming(const ContractOptions& options, ContractTerms& terms) {
  if (options.backup_timing) {
    terms.backup_timing =
        OneOf("--backup-timing", *options.backup_timing, {"on-receipt", "nightly", "per-exam"});
  }
  const std::string timing = OptionSpelling(terms.backup_timing);
  if (terms.backup_timing == "nightly") {
    if (options.nightly_at) {
      terms.nightly_at = TimeOfDayOption("--nightly-at", *options.nightly_at);
    } else if (!terms.nightly_at) {
      Refuse("--nightly-at HH:MM is required with --backup-timing nightly");
    }
  } else {
    if (options.nightly_at) {
      Refuse(
          fmt::format("--nightly-at only goes with --backup-timing nightly (backup timing "
                      "is {})",
                      timing));
    }
    terms.nightly_at.reset();
  }
  if (terms.backup_timing == "per_exam") {
    if (options.exam_quiet_minutes) {
      terms.exam_quiet_minutes =
          IntegerOption("--exam-quiet-minutes", *options.exam_quiet_minutes, 1, 7 * 24 * 60);
    } else if (!terms.exam_quiet_minutes) {
      terms.exam_quiet_minutes = kDefaultExamQuietMinutes;
    }
  } else {
    if (options.exam_quiet_minutes) {
      Refuse(
          fmt::format("--exam-quiet-minutes only goes with --backup-timing per-exam "
                      "(backup timing is {})",
                      timing));
    }
    terms.exam_quiet_minutes.reset();
  }
}

// --data-kept with --modalities (per modality only).
void ResolveDataKept(const ContractOptions& options, ContractTerms& terms) {
  if (options.data_kept) {
    terms.data_kept =
        OneOf("--data-kept", *options.data_kept,
              {"all", "patient-opt-in", "patient-opt-out", "per-exam", "per-modality"});
  }
  if (terms.data_kept == "per_modality") {
    if (options.modalities) {
      terms.kept_modalities = ModalitiesOption(*options.modalities);
    } else if (terms.kept_modalities.empty()) {
      Refuse("--modalities (e.g. CT,MR) is required with --data-kept per-modality");
    }
  } else {
    if (options.modalities) {
      Refuse(
          fmt::format("--modalities only goes with --data-kept per-modality (data kept is "
                      "{})",
                      OptionSpelling(terms.data_kept)));
    }
    terms.kept_modalities.clear();
  }
}

// --quota, --over-quota, --service-class with --export-at (deluxe only).
void ResolveQuotaAndClass(const ContractOptions& options, ContractTerms& terms) {
  if (options.quota) terms.quota_bytes = ParseByteCount("--quota", *options.quota);
  if (options.over_quota) {
    terms.over_quota = OneOf("--over-quota", *options.over_quota, {"refuse", "recycle"});
  }
  if (options.service_class) {
    terms.service_class = OneOf("--service-class", *options.service_class, {"economy", "deluxe"});
  }
  if (terms.service_class == "deluxe") {
    if (options.export_at) {
      terms.export_at = TimeOfDayOption("--export-at", *options.export_at);
    } else if (!terms.export_at) {
      terms.export_at = kDefaultExportAt;
    }
  } else {
    if (options.export_at) {
      Refuse(
          fmt::format("--export-at only goes with --service-class deluxe (service class "
                      "is {})",
                      terms.service_class));
    }
    terms.export_at.reset();
  }
}

// --storage-period and --grace-days.
void ResolveRetention(const ContractOptions& options, ContractTerms& terms) {
  if (options.storage_period) {
    try {
      terms.default_storage_period =
          FormatStoragePeriod(ParseStoragePeriod(*options.storage_period));
    } catch (const Error& error) {
      Refuse(fmt::format("--storage-period: {}", error.what()));
    }
  }
  if (options.grace_days) {
    terms.expiry_grace_days = IntegerOption("--grace-days", *options.grace_days, 0, 3650);
  }
}

}  // namespace

bool ContractOptions::Empty() const {
  return !service_period && !start && !end && !backup_timing && !nightly_at &&
         !exam_quiet_minutes && !data_kept && !modalities && !quota && !over_quota &&
         !service_class && !export_at && !storage_period && !grace_days && !note;
}

ContractTerms ResolveContractTerms(const std::optional<ContractTerms>& current,
                                   const ContractOptions& options) {
  const bool adding = !current.has_value();
  auto required = [&](const std::optional<std::string>& value, const char* option) {
    if (adding && !value) Refuse(fmt::format("{} is required for a new contract", option));
  };
  required(options.service_period, "--service-period");
  required(options.start, "--start");
  required(options.end, "--end");
  required(options.backup_timing, "--backup-timing");
  required(options.data_kept, "--data-kept");
  required(options.quota, "--quota");
  required(options.service_class, "--service-class");
  required(options.storage_period, "--storage-period");

  ContractTerms terms = current.value_or(ContractTerms{});
  ResolveServicePeriod(options, terms);
  ResolveBackupTiming(options, terms);
  ResolveDataKept(options, terms);
  ResolveQuotaAndClass(options, terms);
  ResolveRetention(options, terms);
  if (options.note) terms.note = *options.note;
  return terms;
}

std::vector<std::string> DescribeChanges(const ContractTerms& before, const ContractTerms& after) {
  std::vector<std::string> changes;
  auto compare = [&](const char* field, const std::string& old_value,
                     const std::string& new_value) {
    if (old_value != new_value) {
      changes.push_back(fmt::format("{}: {} -> {}", field, old_value, new_value));
    }
  };
  compare("service_period", before.service_period, after.service_period);
  compare("starts_on", FormatIsoDate(before.starts_on), FormatIsoDate(after.starts_on));
  compare("ends_on", FormatIsoDate(before.ends_on), FormatIsoDate(after.ends_on));
  compare("backup_timing", OptionSpelling(before.backup_timing),
          OptionSpelling(after.backup_timing));
  compare("nightly_at", Optional(before.nightly_at), Optional(after.nightly_at));
  compare("exam_quiet_minutes", Optional(before.exam_quiet_minutes),
          Optional(after.exam_quiet_minutes));
  compare("data_kept", OptionSpelling(before.data_kept), OptionSpelling(after.data_kept));
  compare("kept_modalities", Joined(before.kept_modalities), Joined(after.kept_modalities));
  compare("quota",
          fmt::format("{} ({} bytes)", FormatBytes(before.quota_bytes), before.quota_bytes),
          fmt::format("{} ({} bytes)", FormatBytes(after.quota_bytes), after.quota_bytes));
  compare("over_quota", before.over_quota, after.over_quota);
  compare("service_class", before.service_class, after.service_class);
  compare("export_at", Optional(before.export_at), Optional(after.export_at));
  compare("storage_period", before.default_storage_period, after.default_storage_period);
  compare("grace_days", std::to_string(before.expiry_grace_days),
          std::to_string(after.expiry_grace_days));
  compare("note", "'" + before.note + "'", "'" + after.note + "'");
  return changes;
}

std::string SummarizeTerms(const ContractTerms& terms) {
  std::string timing = OptionSpelling(terms.backup_timing);
  if (terms.nightly_at) timing += " at " + *terms.nightly_at;
  if (terms.exam_quiet_minutes) {
    timing += fmt::format(" after {} quiet minutes", *terms.exam_quiet_minutes);
  }
  std::string kept = OptionSpelling(terms.data_kept);
  if (!terms.kept_modalities.empty()) kept += " " + Joined(terms.kept_modalities);
  std::string service = terms.service_class;
  if (terms.export_at) service += " (export at " + *terms.export_at + ")";
  return fmt::format(
      "{} {}..{}, backup {}, keeps {}, quota {} ({} over quota), {}, "
      "storage period {}, grace {} days",
      terms.service_period, FormatIsoDate(terms.starts_on), FormatIsoDate(terms.ends_on), timing,
      kept, FormatBytes(terms.quota_bytes), terms.over_quota, service, terms.default_storage_period,
      terms.expiry_grace_days);
}

AccountingPoints PointsOf(const ContractTerms& terms) {
  const bool annual = terms.service_period == "annual";
  const int months_per_period = annual ? 12 : 1;
  const CivilDate after_end = AddToDate(terms.ends_on, 0, 0, 1);
  AccountingPoints points;
  points.unit = annual ? "year" : "month";
  // The smallest count of periods from the start that reaches past the end.
  do {
    ++points.periods;
  } while (CompareDates(AddToDate(terms.starts_on, 0, points.periods * months_per_period, 0),
                        after_end) < 0);
  points.points = annual ? 10 * points.periods : points.periods;
  return points;
}

std::int64_t ParseByteCount(const std::string& option, const std::string& text) {
  if (!text.empty() && text[0] == '-') {
    Refuse(fmt::format("{} '{}' must be more than 0 bytes", option, text));
  }
  const std::optional<std::int64_t> bytes = hokan::ParseByteCount(text);
  if (!bytes) {
    const bool well_formed =
        !text.empty() && text.find_first_not_of("0123456789KMGTkmgt") == std::string::npos;
    Refuse(well_formed ? fmt::format("{} '{}' is too large", option, text)
                       : fmt::format("{} '{}' must be a byte count such as 1073741824 or 500G "
                                     "(K, M, G, T: powers of 1024)",
                                     option, text));
  }
  if (*bytes == 0) Refuse(fmt::format("{} '{}' must be more than 0 bytes", option, text));
  return *bytes;
}

std::string FormatBytes(std::int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const bool negative = bytes < 0;
  // Work on the magnitude as unsigned (the most negative value included).
  const unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(bytes)
                                                : static_cast<unsigned long long>(bytes);
  int unit = 0;
  while (unit < 6 && magnitude >= (1ULL << (10 * (unit + 1)))) ++unit;
  const std::string sign = negative ? "-" : "";
  if (unit == 0) return fmt::format("{}{} B", sign, magnitude);
  const unsigned long long whole_unit = 1ULL << (10 * unit);
  if (magnitude % whole_unit == 0) {
    return fmt::format("{}{} {}", sign, magnitude / whole_unit, kUnits[unit]);
  }
  const double value = static_cast<double>(magnitude) / static_cast<double>(whole_unit);
  return fmt::format("{}{:.1f} {}", sign, value, kUnits[unit]);
}

std::optional<CivilDate> ParseIsoDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const std::string compact = text.substr(0, 4) + text.substr(5, 2) + text.substr(8, 2);
  if (compact.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const auto date = ParseDicomDate(compact);
  if (!date || date->year < 1900) return std::nullopt;
  return date;
}

std::string FormatIsoDate(const CivilDate& date) {
  return fmt::format("{:04}-{:02}-{:02}", date.year, date.month, date.day);
}

int CompareDates(const CivilDate& a, const CivilDate& b) {
  if (a.year != b.year) return a.year < b.year ? -1 : 1;
  if (a.month != b.month) return a.month < b.month ? -1 : 1;
  if (a.day != b.day) return a.day < b.day ? -1 : 1;
  return 0;
}

std::string OptionSpelling(const std::string& stored) {
  std::string spelling = stored;
  std::replace(spelling.begin(), spelling.end(), '_', '-');
  return spelling;
}

}  // namespace hokan::archive
