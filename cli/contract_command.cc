// hokan contract add|change|end|show|list: a facility's storage contract.
// A change or an end writes a new version; the old one is kept, superseded.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/contract_command_options.h"
#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/contract_admin.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

using archive::ContractOptions;
using archive::ContractTerms;
using archive::ContractVersion;

constexpr const char* kTermOptions[] = {
    "service-period", "start",      "end",   "backup-timing", "nightly-at",    "exam-quiet-minutes",
    "data-kept",      "modalities", "quota", "over-quota",    "service-class", "export-at",
    "storage-period", "grace-days", "note"};

po::options_description TermOptions() {
  po::options_description options;
  for (const char* name : kTermOptions) options.add_options()(name, po::value<std::string>());
  options.add_options()("by", po::value<std::string>())("reason", po::value<std::string>());
  return options;
}

ContractOptions ReadTermOptions(const SubcommandOptions& values) {
  ContractOptions options;
  options.service_period = values.Optional("service-period");
  options.start = values.Optional("start");
  options.end = values.Optional("end");
  options.backup_timing = values.Optional("backup-timing");
  options.nightly_at = values.Optional("nightly-at");
  options.exam_quiet_minutes = values.Optional("exam-quiet-minutes");
  options.data_kept = values.Optional("data-kept");
  options.modalities = values.Optional("modalities");
  options.quota = values.Optional("quota");
  options.over_quota = values.Optional("over-quota");
  options.service_class = values.Optional("service-class");
  options.export_at = values.Optional("export-at");
  options.storage_period = values.Optional("storage-period");
  options.grace_days = values.Optional("grace-days");
  options.note = values.Optional("note");
  return options;
}

archive::ChangeAuthor Author(const SubcommandOptions& values, const CommandContext& context) {
  return {values.Actor(context), values.Optional("reason").value_or("")};
}

// Where a version stands on `today`.
std::string StatusOf(const ContractVersion& version, const archive::CivilDate& today) {
  if (version.superseded_by) return fmt::format("superseded by {}", *version.superseded_by);
  if (archive::CompareDates(today, version.terms.starts_on) < 0) return "future";
  if (archive::CompareDates(today, version.terms.ends_on) > 0) return "ended";
  return "current";
}

std::string ListLine(const ContractVersion& version, const archive::CivilDate& today) {
  const ContractTerms& terms = version.terms;
  return fmt::format("{:>6}  {:<16} {:<8} {}..{}  {:<8} {:>10}  {:<16} {:<20} {} by {}", version.id,
                     version.facility, terms.service_period,
                     archive::FormatIsoDate(terms.starts_on), archive::FormatIsoDate(terms.ends_on),
                     terms.service_class, archive::FormatBytes(terms.quota_bytes),
                     archive::OptionSpelling(terms.data_kept), StatusOf(version, today),
                     version.created_at, version.created_by);
}

std::string ListHeader() {
  return fmt::format("{:>6}  {:<16} {:<8} {:<22}  {:<8} {:>10}  {:<16} {:<20} {}", "id", "facility",
                     "period", "dates", "class", "quota", "data kept", "status", "created");
}

void PrintContract(const ContractVersion& version) {
  const ContractTerms& terms = version.terms;
  const auto points = archive::PointsOf(terms);
  std::string timing = archive::OptionSpelling(terms.backup_timing);
  if (terms.nightly_at) timing += " at " + *terms.nightly_at + " UTC";
  if (terms.exam_quiet_minutes) {
    timing +=
        fmt::format(", once a study has been quiet for {} minutes", *terms.exam_quiet_minutes);
  }
  std::string kept = archive::OptionSpelling(terms.data_kept);
  if (!terms.kept_modalities.empty()) {
    std::string list;
    for (const auto& modality : terms.kept_modalities)
      list += (list.empty() ? "" : ", ") + modality;
    kept += " (" + list + ")";
  }
  std::string service = terms.service_class == "deluxe"
                            ? fmt::format(
                                  "deluxe: online storage and offline media export at "
                                  "{} UTC",
                                  terms.export_at.value_or("?"))
                            : "economy: online storage only";
  std::cout << fmt::format("current contract {} (version of {} by {})\n", version.id,
                           version.created_at, version.created_by)
            << fmt::format("  service period     {}, {} to {} (inclusive)\n", terms.service_period,
                           archive::FormatIsoDate(terms.starts_on),
                           archive::FormatIsoDate(terms.ends_on))
            << fmt::format("  accounting points  {} ({} {}{} x {})\n", points.points,
                           points.periods, points.unit, points.periods == 1 ? "" : "s",
                           points.unit == "year" ? 10 : 1)
            << fmt::format("  backup timing      {}\n", timing)
            << fmt::format("  data kept          {}\n", kept)
            << fmt::format("  quota              {} ({} bytes); over quota: {}\n",
                           archive::FormatBytes(terms.quota_bytes), terms.quota_bytes,
                           terms.over_quota)
            << fmt::format("  service class      {}\n", service)
            << fmt::format(
                   "  storage period     {} by default; data expires {} days after "
                   "the contract ends\n",
                   terms.default_storage_period, terms.expiry_grace_days);
  if (!terms.note.empty()) std::cout << fmt::format("  note               {}\n", terms.note);
}

int Add(CommandContext& context) {
  po::options_description options = TermOptions();
  options.add_options()("facility", po::value<std::string>());
  const SubcommandOptions values("contract add", AfterAction(context.arguments), options);
  const std::string facility = values.Required("facility");
  // Everything is validated before the database is touched.
  const ContractTerms terms = archive::ResolveContractTerms(std::nullopt, ReadTermOptions(values));
  archive::ContractAdmin contracts(context.database);
  const std::int64_t id = contracts.Add(facility, terms, Author(values, context));
  std::cout << fmt::format("contract {} added to facility {}: {}\n", id, facility,
                           archive::SummarizeTerms(terms));
  return 0;
}

int Change(CommandContext& context) {
  const SubcommandOptions values("contract change", AfterAction(context.arguments), TermOptions(),
                                 1);
  const std::int64_t id = values.RequiredId("contract ID");
  archive::ContractAdmin contracts(context.database);
  const ContractVersion version =
      contracts.Change(id, ReadTermOptions(values), Author(values, context));
  std::cout << fmt::format("contract {} replaces contract {} of facility {}: {}\n", version.id, id,
                           version.facility, archive::SummarizeTerms(version.terms));
  return 0;
}

int End(CommandContext& context) {
  po::options_description options;
  options.add_options()("on", po::value<std::string>())("by", po::value<std::string>())(
      "reason", po::value<std::string>());
  const SubcommandOptions values("contract end", AfterAction(context.arguments), options, 1);
  const std::int64_t id = values.RequiredId("contract ID");
  const std::string on = values.Required("on");
  const auto last_day = archive::ParseIsoDate(on);
  if (!last_day) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("--on '{}' is not a calendar date YYYY-MM-DD", on));
  }
  archive::ContractAdmin contracts(context.database);
  const ContractVersion version = contracts.End(id, *last_day, Author(values, context));
  std::cout << fmt::format("contract {} replaces contract {} of facility {}: ends on {}\n",
                           version.id, id, version.facility,
                           archive::FormatIsoDate(version.terms.ends_on));
  return 0;
}

int Show(CommandContext& context) {
  po::options_description options;
  options.add_options()("facility", po::value<std::string>());
  const SubcommandOptions values("contract show", AfterAction(context.arguments), options);
  const std::string facility = values.Required("facility");
  const archive::CivilDate today = archive::DateOf(Now());
  archive::ContractAdmin contracts(context.database);
  const auto current = contracts.Current(facility, today);
  std::cout << fmt::format("facility {} on {}\n", facility, archive::FormatIsoDate(today));
  if (current) {
    PrintContract(*current);
  } else {
    std::cout << "no current contract\n";
  }
  std::cout << "history (newest first):\n" << ListHeader() << "\n";
  for (const auto& version : contracts.List(facility)) {
    std::cout << ListLine(version, today) << "\n";
  }
  return 0;
}

int List(CommandContext& context) {
  po::options_description options;
  options.add_options()("facility", po::value<std::string>());
  const SubcommandOptions values("contract list", AfterAction(context.arguments), options);
  const archive::CivilDate today = archive::DateOf(Now());
  archive::ContractAdmin contracts(context.database);
  std::cout << ListHeader() << "\n";
  for (const auto& version : contracts.List(values.Optional("facility"))) {
    std::cout << ListLine(version, today) << "\n";
  }
  return 0;
}

}  // namespace

int RunContractCommand(CommandContext& context) {
  const std::string action =
      ActionOf("contract", context.arguments, {"add", "change", "end", "show", "list"});
  if (action == "add") return Add(context);
  if (action == "change") return Change(context);
  if (action == "end") return End(context);
  if (action == "show") return Show(context);
  return List(context);
}

}  // namespace hokan::cli
