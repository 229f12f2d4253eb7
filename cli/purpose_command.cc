// hokan purpose add|change|list|grant|revoke: purposes of retrieval, their
// available ranges and which calling AE titles may use them.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/contract_command_options.h"
#include "archive/common/error.h"
#include "billing/admin_input.h"
#include "billing/purpose_admin.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

using billing::PurposeChange;
using billing::PurposeSettings;

constexpr const char* kRangeOptions[] = {"called-ae", "description", "modalities",   "sop-classes",
                                         "max-rows",  "max-columns", "pixel-rights", "reports"};

po::options_description RangeOptions() {
  po::options_description options;
  for (const char* name : kRangeOptions) options.add_options()(name, po::value<std::string>());
  options.add_options()("by", po::value<std::string>());
  return options;
}

std::string RequiredName(const SubcommandOptions& values) {
  const auto name = values.Optional("id");
  if (!name) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("'{}' needs a purpose NAME", values.subcommand()));
  }
  return billing::ParsePurposeName(*name);
}

// Every option given, parsed; nothing touches the database before this.
PurposeChange ReadChange(const SubcommandOptions& values) {
  PurposeChange change;
  if (auto value = values.Optional("called-ae")) {
    change.called_ae_title = billing::ParseAeTitle("--called-ae", *value);
  }
  change.description = values.Optional("description");
  if (auto value = values.Optional("modalities")) {
    change.modalities = billing::ParseModalities("--modalities", *value);
  }
  if (auto value = values.Optional("sop-classes")) {
    change.sop_class_uids = billing::ParseSopClassUids("--sop-classes", *value);
  }
  if (auto value = values.Optional("max-rows")) {
    change.max_rows = billing::ParseImageLimit("--max-rows", *value);
  }
  if (auto value = values.Optional("max-columns")) {
    change.max_columns = billing::ParseImageLimit("--max-columns", *value);
  }
  if (auto value = values.Optional("pixel-rights")) {
    change.pixel_rights = billing::ParsePixelRights(*value);
  }
  if (auto value = values.Optional("reports")) change.reports = billing::ParseReportRights(*value);
  return change;
}

int Add(CommandContext& context) {
  const SubcommandOptions values("purpose add", AfterAction(context.arguments), RangeOptions(), 1);
  PurposeSettings settings;
  settings.name = RequiredName(values);
  settings.called_ae_title = values.Required("called-ae");
  const PurposeChange change = ReadChange(values);
  // The range checks (RequireRange) run on the result.
  settings = billing::ApplyPurposeChange(settings, change);
  billing::PurposeAdmin purposes(context.database);
  const std::int64_t id = purposes.Add(settings, values.Actor(context));
  std::cout << fmt::format("purpose {} added (id {}): {}\n", settings.name, id,
                           billing::SummarizePurpose(settings));
  return 0;
}

int Change(CommandContext& context) {
  const SubcommandOptions values("purpose change", AfterAction(context.arguments), RangeOptions(),
                                 1);
  const std::string name = RequiredName(values);
  const PurposeChange change = ReadChange(values);
  billing::PurposeAdmin purposes(context.database);
  const PurposeSettings settings = purposes.Change(name, change, values.Actor(context));
  std::cout << fmt::format("purpose {} changed: {}\n", name, billing::SummarizePurpose(settings));
  return 0;
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string Joined(const std::vector<std::string>& values, const char* separator,
                   const char* empty) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : separator) + value;
  return text.empty() ? empty : text;
}

std::string Limit(const std::optional<int>& limit) { return limit ? std::to_string(*limit) : ""; }

int List(CommandContext& context) {
  po::options_description options;
  options.add_options()("format", po::value<std::string>());
  const SubcommandOptions values("purpose list", AfterAction(context.arguments), options);
  const std::string format =
      billing::ParseOutputFormat(values.Optional("format").value_or("table"));
  billing::PurposeAdmin purposes(context.database);
  const auto listings = purposes.List();
  if (format == "csv") {
    std::cout << "name,called_ae_title,modalities,sop_class_uids,max_rows,max_columns,"
                 "pixel_rights,reports,granted_callers,description\n";
    for (const auto& listing : listings) {
      const PurposeSettings& settings = listing.settings;
      std::cout << fmt::format(
          "{},{},{},{},{},{},{},{},{},{}\n", settings.name, CsvField(settings.called_ae_title),
          Joined(settings.modalities, " ", ""), Joined(settings.sop_class_uids, " ", ""),
          Limit(settings.max_rows), Limit(settings.max_columns), settings.pixel_rights,
          billing::FormatReportRights(settings.reports),
          CsvField(Joined(listing.granted_callers, " ", "")), CsvField(settings.description));
    }
    return 0;
  }
  std::cout << fmt::format("{:<16} {:<16} {:<16} {:<11} {:<10} {:<8} {}\n", "name", "called AE",
                           "modalities", "max size", "pixels", "reports", "granted to");
  for (const auto& listing : listings) {
    const PurposeSettings& settings = listing.settings;
    std::string size = "-";
    if (settings.max_rows || settings.max_columns) {
      size = fmt::format("{}x{}", settings.max_rows ? std::to_string(*settings.max_rows) : "*",
                         settings.max_columns ? std::to_string(*settings.max_columns) : "*");
    }
    std::cout << fmt::format("{:<16} {:<16} {:<16} {:<11} {:<10} {:<8} {}\n", settings.name,
                             settings.called_ae_title, Joined(settings.modalities, ",", "-"), size,
                             settings.pixel_rights, billing::FormatReportRights(settings.reports),
                             Joined(listing.granted_callers, ",", "-"));
    if (!settings.sop_class_uids.empty()) {
      std::cout << fmt::format("  SOP classes: {}\n", Joined(settings.sop_class_uids, ", ", ""));
    }
    if (!settings.description.empty()) {
      std::cout << fmt::format("  {}\n", settings.description);
    }
  }
  return 0;
}

int GrantOrRevoke(CommandContext& context, bool grant) {
  po::options_description options;
  options.add_options()("ae", po::value<std::string>())("facility", po::value<std::string>())(
      "by", po::value<std::string>());
  const SubcommandOptions values(grant ? "purpose grant" : "purpose revoke",
                                 AfterAction(context.arguments), options, 1);
  const std::string name = RequiredName(values);
  const std::string ae_title = billing::ParseAeTitle("--ae", values.Required("ae"));
  const std::optional<std::string> facility = values.Optional("facility");
  const std::string who = facility ? fmt::format("{} of facility {}", ae_title, *facility) : ae_title;
  billing::PurposeAdmin purposes(context.database);
  if (grant) {
    purposes.Grant(name, ae_title, facility, values.Actor(context));
    std::cout << fmt::format("{} may retrieve under purpose {}\n", who, name);
  } else {
    purposes.Revoke(name, ae_title, facility, values.Actor(context));
    std::cout << fmt::format("{} may no longer retrieve under purpose {}\n", who, name);
  }
  return 0;
}

}  // namespace

int RunPurposeCommand(CommandContext& context) {
  const std::string action =
      ActionOf("purpose", context.arguments, {"add", "change", "list", "grant", "revoke"});
  if (action == "add") return Add(context);
  if (action == "change") return Change(context);
  if (action == "list") return List(context);
  return GrantOrRevoke(context, action == "grant");
}

}  // namespace hokan::cli
