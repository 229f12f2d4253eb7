// hokan usage [--facility F] [--format table|csv] and
// hokan audit [--facility F] [--action PREFIX] [--limit N].
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/contract_command_options.h"
#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/contract_admin_terms.h"
#include "archive/index/usage_report.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

constexpr int kExpiryWindowDays = 30;

std::string BytesText(std::int64_t bytes) {
  return fmt::format("{} bytes ({})", bytes, archive::FormatBytes(bytes));
}

// Percent of the quota used, one decimal.
std::string PercentText(std::int64_t used, std::int64_t quota) {
  return fmt::format("{:.1f}", 100.0 * static_cast<double>(used) / static_cast<double>(quota));
}

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void PrintTable(const archive::FacilityUsageReport& report, const std::string& window_end) {
  std::cout << fmt::format("facility {}\n", report.facility)
            << fmt::format("  used                {}\n", BytesText(report.used_bytes));
  if (report.quota_bytes) {
    const std::int64_t free = *report.quota_bytes - report.used_bytes;
    std::cout << fmt::format("  quota               {} (contract {})\n",
                             BytesText(*report.quota_bytes), *report.contract_id)
              << (free >= 0 ? fmt::format("  free                {}\n", BytesText(free))
                            : fmt::format("  free                0 bytes (over quota by {})\n",
                                          archive::FormatBytes(-free)))
              << fmt::format("  used percent        {}%\n",
                             PercentText(report.used_bytes, *report.quota_bytes));
  } else {
    std::cout << "  quota               no contract\n"
              << "  free                -\n"
              << "  used percent        -\n";
  }
  if (report.contract_ended_on) {
    std::cout << fmt::format("  contract ended      {}; unheld data expires at {}\n",
                             *report.contract_ended_on, report.data_expires_at.value_or("?"));
  }
  std::cout << fmt::format("  studies             {}\n", report.studies)
            << fmt::format("  instances           {}\n", report.instances)
            << fmt::format("  oldest study        {}\n", report.oldest_received_at.value_or("-"))
            << fmt::format("  newest study        {}\n", report.newest_received_at.value_or("-"))
            << fmt::format("  expiring in {} days {} studies, {} (until {})\n", kExpiryWindowDays,
                           report.expiring_studies, BytesText(report.expiring_bytes), window_end);
  if (report.overdue_studies > 0) {
    std::cout << fmt::format("  overdue             {} studies, {} (expired, not yet removed)\n",
                             report.overdue_studies, BytesText(report.overdue_bytes));
  }
}

void PrintCsvHeader() {
  std::cout << "facility,used_bytes,quota_bytes,free_bytes,used_percent,studies,instances,"
               "oldest_received_at,newest_received_at,expiring_30d_studies,"
               "expiring_30d_bytes,overdue_studies,overdue_bytes,contract_id,"
               "contract_ended_on\n";
}

void PrintCsv(const archive::FacilityUsageReport& report) {
  const auto optional_number = [](const std::optional<std::int64_t>& value) {
    return value ? std::to_string(*value) : std::string();
  };
  std::cout << fmt::format(
      "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", CsvField(report.facility),
      report.used_bytes, optional_number(report.quota_bytes),
      report.quota_bytes ? std::to_string(*report.quota_bytes - report.used_bytes) : "",
      report.quota_bytes ? PercentText(report.used_bytes, *report.quota_bytes) : "", report.studies,
      report.instances, report.oldest_received_at.value_or(""),
      report.newest_received_at.value_or(""), report.expiring_studies, report.expiring_bytes,
      report.overdue_studies, report.overdue_bytes, optional_number(report.contract_id),
      report.contract_ended_on.value_or(""));
}

}  // namespace

int RunUsageCommand(CommandContext& context) {
  po::options_description options;
  options.add_options()("facility", po::value<std::string>())("format", po::value<std::string>());
  const SubcommandOptions values("usage", context.arguments, options);
  const std::string format = values.Optional("format").value_or("table");
  if (format != "table" && format != "csv") {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("--format '{}' is not one of table, csv", format));
  }
  const TimePoint now = Now();
  const auto reports =
      archive::ReportUsage(context.database, values.Optional("facility"), now, kExpiryWindowDays);
  if (format == "csv") {
    PrintCsvHeader();
    for (const auto& report : reports) PrintCsv(report);
    return 0;
  }
  const std::string window_end = FormatUtc(now + std::chrono::hours(24 * kExpiryWindowDays));
  std::cout << fmt::format("usage on {}\n", FormatUtc(now));
  for (const auto& report : reports) PrintTable(report, window_end);
  return 0;
}

int RunAuditCommand(CommandContext& context) {
  po::options_description options;
  options.add_options()("facility", po::value<std::string>())("action", po::value<std::string>())(
      "limit", po::value<std::string>());
  const SubcommandOptions values("audit", context.arguments, options);
  const int limit =
      values.Has("limit") ? IntegerOption("--limit", values.Required("limit"), 1, 100000) : 50;
  const auto rows = archive::ListAudit(context.database, values.Optional("facility"),
                                       values.Optional("action").value_or(""), limit);
  std::cout << fmt::format("{:<20}  {:<16} {:<16} {:<16} {:<24} | {} | {}\n", "at", "actor",
                           "action", "facility", "subject", "detail", "reason");
  for (const auto& row : rows) {
    std::cout << fmt::format("{:<20}  {:<16} {:<16} {:<16} {:<24} | {} | {}\n", row.at,
                             row.entry.actor, row.entry.action,
                             row.facility.empty() ? "-" : row.facility, row.entry.subject,
                             row.entry.detail, row.entry.reason);
  }
  return 0;
}

}  // namespace hokan::cli
