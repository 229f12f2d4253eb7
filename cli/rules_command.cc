// hokan rules add|list|delete|test: storage rules and what they decide.
//
//   rules add --name NAME (--facility F | --global) [--position N]
//             [--when KEY=VALUE]... (--accept | --reject [--status 0xNNNN])
//             [--period P] [--tier hot|cold] [--by NAME] [--reason TEXT]
//   rules list [--facility F] [--global] [--all]
//   rules delete ID [--by NAME] [--reason TEXT]
//   rules test FILE --facility F [--calling-ae AE] [--received UTC]
#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/storage_conditions_index.h"
#include "archive/index/storage_rules_admin.h"
#include "archive/ingest/storage_gate.h"
#include "archive/rules/storage_decision.h"
#include "dicom/dicom_header.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

using archive::StorageRule;

constexpr const char *kRulesUsage =
    "usage:\n"
    "  hokan rules add --name NAME (--facility F | --global) [--position N]\n"
    "        [--when KEY=VALUE]... (--accept | --reject [--status 0xNNNN])\n"
    "        [--period P] [--tier hot|cold] [--by NAME] [--reason TEXT]\n"
    "      condition keys: calling_ae, modality, sop_class_uid, body_part,\n"
    "        study_description (DICOM wildcard patterns, '*' and '?'),\n"
    "        patient_age_min, patient_age_max (years at the study date, "
    "inclusive),\n"
    "        patient_opted_out (true|false)\n"
    "      periods: 10y, 18m, 30d, 1y6m, until-age 25, forever\n"
    "      reject status: 0x0124 (default, Refused: Not Authorized) or "
    "0xA000-0xCFFF\n"
    "  hokan rules list [--facility F] [--global] [--all]\n"
    "  hokan rules delete ID [--by NAME] [--reason TEXT]\n"
    "  hokan rules test FILE --facility F [--calling-ae AE] [--received "
    "2026-11-22T10:00:00Z]\n";

constexpr const char *kAllowedKeys =
    "calling_ae, modality, sop_class_uid, body_part, study_description, "
    "patient_age_min, "
    "patient_age_max, patient_opted_out";

[[noreturn]] void Invalid(const std::string &message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

po::variables_map
Parse(const std::string &action, const std::vector<std::string> &arguments,
      const po::options_description &options,
      const po::positional_options_description &positional = {}) {
  po::variables_map values;
  try {
    const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
    po::store(po::command_line_parser(rest)
                  .options(options)
                  .positional(positional)
                  .run(),
              values);
  } catch (const po::error &error) {
    Invalid(fmt::format("rules {}: {}", action, error.what()));
  }
  return values;
}

std::string Text(const po::variables_map &values, const char *name) {
  return values.count(name) ? values[name].as<std::string>() : std::string();
}

// A non-negative whole number of years, written with digits only.
int ParseAge(const std::string &key, const std::string &value) {
  if (value.empty() || value.size() > 3 ||
      !std::all_of(value.begin(), value.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    Invalid(
        fmt::format("condition {}: '{}' is not a whole number of years (0-200)",
                    key, value));
  }
  const int age = std::stoi(value);
  if (age > 200)
    Invalid(fmt::format("condition {}: {} is over 200 years", key, age));
  return age;
}

void ApplyCondition(StorageRule &rule, const std::string &when) {
  const auto equals = when.find('=');
  if (equals == std::string::npos) {
    Invalid(fmt::format("--when '{}': expected KEY=VALUE; keys: {}", when,
                        kAllowedKeys));
  }
  const std::string key = when.substr(0, equals);
  const std::string value = when.substr(equals + 1);
  std::map<std::string, std::optional<std::string> *> text_keys = {
      {"calling_ae", &rule.calling_ae},
      {"modality", &rule.modality},
      {"sop_class_uid", &rule.sop_class_uid},
      {"body_part", &rule.body_part},
      {"study_description", &rule.study_description}};
  auto twice = [&] {
    Invalid(fmt::format("condition {} is given twice", key));
  };
  if (const auto found = text_keys.find(key); found != text_keys.end()) {
    if (*found->second)
      twice();
    archive::ValidateWildcardPattern(key, value);
    *found->second = value;
  } else if (key == "patient_age_min" || key == "patient_age_max") {
    auto &target =
        key == "patient_age_min" ? rule.patient_age_min : rule.patient_age_max;
    if (target)
      twice();
    target = ParseAge(key, value);
  } else if (key == "patient_opted_out") {
    if (rule.patient_opted_out)
      twice();
    if (value != "true" && value != "false") {
      Invalid(fmt::format(
          "condition patient_opted_out: '{}' is not true or false", value));
    }
    rule.patient_opted_out = value == "true";
  } else {
    Invalid(fmt::format("unknown condition key '{}'; allowed: {}", key,
                        kAllowedKeys));
  }
}

std::uint16_t ParseStatus(const std::string &text) {
  const bool hex = text.size() > 2 && text.size() <= 6 && text[0] == '0' &&
                   (text[1] == 'x' || text[1] == 'X') &&
                   std::all_of(text.begin() + 2, text.end(), [](char c) {
                     return std::isxdigit(static_cast<unsigned char>(c));
                   });
  if (!hex)
    Invalid(fmt::format(
        "--status '{}': expected a hexadecimal status such as 0x0124", text));
  const auto status =
      static_cast<std::uint16_t>(std::stoul(text.substr(2), nullptr, 16));
  if (!archive::IsAllowedRejectStatus(status)) {
    Invalid(fmt::format(
        "--status {}: allowed are 0x0124 (Refused: Not Authorized) and failure "
        "statuses 0xA000-0xCFFF",
        text));
  }
  return status;
}

std::string Scope(const archive::StorageRuleRecord &record) {
  return record.facility.empty() ? "global" : record.facility;
}

std::string RuleInWords(const StorageRule &rule, const std::string &facility) {
  return fmt::format("{}, position {}, '{}': when {}: {}",
                     facility.empty() ? "global" : "facility " + facility,
                     rule.position, rule.name,
                     archive::DescribeConditions(rule),
                     archive::DescribeAction(rule));
}

// Prints rows with each column as wide as its widest cell.
void PrintTable(const std::vector<std::vector<std::string>> &rows) {
  std::vector<std::size_t> widths;
  for (const auto &row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto &row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i]
                                  : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    std::cout << line << "\n";
  }
}

int Add(CommandContext &context) {
  po::options_description options;
  options.add_options()("name", po::value<std::string>())(
      "facility", po::value<std::string>())("global", "")("position",
                                                          po::value<int>())(
      "when", po::value<std::vector<std::string>>())("accept", "")(
      "reject", "")("status", po::value<std::string>())(
      "period", po::value<std::string>())("tier", po::value<std::string>())(
      "by", po::value<std::string>())("reason", po::value<std::string>());
  const auto values = Parse("add", context.arguments, options);
  const std::string name = Text(values, "name");
  if (name.empty())
    Invalid("rules add: --name NAME is required");
  const bool global = values.count("global") > 0;
  if (values.count("facility") == global) {
    Invalid("rules add: give exactly one of --facility F and --global");
  }
  const bool accept = values.count("accept") > 0;
  if (accept == (values.count("reject") > 0)) {
    Invalid("rules add: give exactly one of --accept and --reject");
  }
  StorageRule rule;
  rule.name = name;
  rule.accept = accept;
  if (values.count("when")) {
    for (const auto &when : values["when"].as<std::vector<std::string>>()) {
      ApplyCondition(rule, when);
    }
  }
  if (values.count("status")) {
    if (accept)
      Invalid("rules add: --status applies to --reject only");
    rule.reject_status = ParseStatus(Text(values, "status"));
  }
  if (values.count("period")) {
    if (!accept)
      Invalid("rules add: --period applies to --accept only");
    rule.storage_period = archive::ParseStoragePeriod(Text(values, "period"));
  }
  if (values.count("tier")) {
    if (!accept)
      Invalid("rules add: --tier applies to --accept only");
    const std::string tier = Text(values, "tier");
    if (tier != "hot" && tier != "cold") {
      Invalid(fmt::format("--tier '{}': allowed are hot and cold", tier));
    }
    rule.tier = tier;
  }
  std::optional<std::string> facility;
  if (!global)
    facility = Text(values, "facility");
  std::optional<int> position;
  if (values.count("position"))
    position = values["position"].as<int>();
  const std::string actor =
      values.count("by") ? Text(values, "by") : context.actor;

  archive::StorageRulesAdmin admin(context.database);
  const StorageRule added =
      admin.Add(facility, position, rule, actor, Text(values, "reason"));
  std::cout << fmt::format("rule {} added: {}\n", added.id,
                           RuleInWords(added, facility.value_or("")));
  return 0;
}

int List(CommandContext &context) {
  po::options_description options;
  options.add_options()("facility", po::value<std::string>())("global",
                                                              "")("all", "");
  const auto values = Parse("list", context.arguments, options);
  std::optional<std::string> facility;
  if (values.count("facility"))
    facility = Text(values, "facility");
  const bool all = values.count("all") > 0;
  archive::StorageRulesAdmin admin(context.database);
  const auto records = admin.List(facility, values.count("global") > 0, all);
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"id", "scope", "position", "name", "conditions", "action",
                  "period", "tier"});
  if (all)
    rows.back().push_back("deleted_at");
  for (const auto &record : records) {
    const StorageRule &rule = record.rule;
    std::vector<std::string> row = {
        std::to_string(rule.id),
        Scope(record),
        std::to_string(rule.position),
        rule.name,
        archive::DescribeConditions(rule),
        rule.accept ? "accept"
                    : fmt::format("reject 0x{:04X}", rule.reject_status),
        !rule.accept ? "-"
        : rule.storage_period
            ? archive::FormatStoragePeriod(*rule.storage_period)
            : "contract default",
        rule.accept ? rule.tier.value_or("hot") : "-"};
    if (all)
      row.push_back(record.deleted_at.value_or("-"));
    rows.push_back(std::move(row));
  }
  PrintTable(rows);
  return 0;
}

int Delete(CommandContext &context) {
  po::options_description options;
  options.add_options()("id", po::value<std::string>())(
      "by", po::value<std::string>())("reason", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("id", 1);
  const auto values = Parse("delete", context.arguments, options, positional);
  const std::string id_text = Text(values, "id");
  if (id_text.empty())
    Invalid("rules delete: give the rule ID");
  if (id_text.size() > 18 ||
      !std::all_of(id_text.begin(), id_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    Invalid(fmt::format("rules delete: '{}' is not a rule ID", id_text));
  }
  const std::string actor =
      values.count("by") ? Text(values, "by") : context.actor;
  archive::StorageRulesAdmin admin(context.database);
  const auto record =
      admin.Delete(std::stoll(id_text), actor, Text(values, "reason"));
  std::cout << fmt::format("rule {} deleted: {}\n", record.rule.id,
                           RuleInWords(record.rule, record.facility));
  return 0;
}

std::string OrNone(const std::string &value) {
  return value.empty() ? "(none)" : value;
}

// The facility line of `hokan rules test`: its contract, or that it has none.
void PrintContract(const archive::StorageGate &gate, const std::string &facility,
                   TimePoint received) {
  if (gate.contract()) {
    const auto &contract = *gate.contract();
    std::cout << fmt::format(
        "facility: {} (contract {}, data_kept {}, default period {})\n",
        facility, contract.id, contract.data_kept,
        archive::FormatStoragePeriod(contract.default_storage_period));
  } else {
    std::cout << fmt::format("facility: {} has no current contract on {}: a "
                             "C-STORE would be refused\n",
                             facility, FormatUtc(received).substr(0, 10));
  }
}

// The decision lines of `hokan rules test`: accept or refuse, the rule, and
// for an accepted file its expiry and tier; then why.
void PrintDecision(const archive::StorageDecision &decision) {
  if (decision.accept) {
    std::cout << "decision: accept\n";
  } else {
    std::cout << fmt::format("decision: refuse 0x{:04X}\n", decision.status);
  }
  std::cout << fmt::format(
      "rule: {}\n", decision.rule_id ? fmt::format("{} '{}'", *decision.rule_id,
                                                   decision.rule_name)
                                     : std::string("contract default"));
  if (decision.accept) {
    std::cout << fmt::format("expires_at: {}\n",
                             decision.expires_at
                                 ? FormatUtc(*decision.expires_at)
                                 : "never")
              << fmt::format("tier: {}\n", decision.tier);
  }
  std::cout << fmt::format("reason: {}\n", decision.reason);
}

int Test(CommandContext &context) {
  po::options_description options;
  options.add_options()("file", po::value<std::string>())(
      "facility", po::value<std::string>())(
      "calling-ae", po::value<std::string>())("received",
                                              po::value<std::string>());
  po::positional_options_description positional;
  positional.add("file", 1);
  const auto values = Parse("test", context.arguments, options, positional);
  const std::string file = Text(values, "file");
  if (file.empty())
    Invalid("rules test: give a DICOM FILE");
  const std::string facility = Text(values, "facility");
  if (facility.empty())
    Invalid("rules test: --facility F is required");
  TimePoint received = Now();
  if (values.count("received")) {
    const auto parsed = ParseUtc(Text(values, "received"));
    if (!parsed) {
      Invalid(
          fmt::format("--received '{}': expected UTC as 2026-11-22T10:00:00Z",
                      Text(values, "received")));
    }
    received = *parsed;
  }
  const std::string calling_ae = Text(values, "calling-ae");

  const auto header = dicom::ReadInstanceHeader(file);
  if (!header.ok)
    Invalid(fmt::format("{}: cannot read the DICOM header: {}", file,
                        header.error));
  const auto &attributes = header.attributes;

  archive::StorageConditionsIndex index(context.database);
  const auto facility_id = index.FacilityId(facility);
  if (!facility_id)
    Invalid(fmt::format("unknown facility '{}'", facility));
  // The gate decides exactly as ingest does (contract, patient choice, rules).
  archive::StorageGate gate(index, *facility_id, received);
  const auto decision = gate.Decide(calling_ae, attributes, received);

  archive::IngestFacts facts;
  facts.study_date = attributes.study_date;
  facts.patient_birth_date = attributes.patient_birth_date;
  facts.received_at = received;
  const auto age = archive::PatientAge(facts);
  const auto choice = index.PatientChoice(*facility_id, attributes.patient_id);

  std::cout << fmt::format("file: {}\n", file);
  PrintContract(gate, facility, received);
  std::cout << fmt::format("received: {}\n", FormatUtc(received))
            << fmt::format("calling AE: {}\n", OrNone(calling_ae))
            << fmt::format("modality: {}\n", OrNone(attributes.modality))
            << fmt::format("SOP class: {}\n", OrNone(attributes.sop_class_uid))
            << fmt::format("body part: {}\n",
                           OrNone(attributes.body_part_examined))
            << fmt::format("study description: {}\n",
                           OrNone(attributes.study_description))
            << fmt::format("study date: {}{}\n", OrNone(attributes.study_date),
                           archive::ParseDicomDate(attributes.study_date)
                               ? ""
                               : " (periods count from the day of receipt)")
            << fmt::format("patient birth date: {}\n",
                           OrNone(attributes.patient_birth_date))
            << fmt::format("patient age: {}\n",
                           age ? std::to_string(*age) : "unknown")
            << fmt::format("patient choice: {}\n", choice.value_or("none"));
  PrintDecision(decision);
  return 0;
}

} // namespace

int RunRulesCommand(CommandContext &context) {
  const auto &arguments = context.arguments;
  if (arguments.empty())
    Invalid(
        fmt::format("rules: give add, list, delete or test\n{}", kRulesUsage));
  if (std::find(arguments.begin(), arguments.end(), "--help") !=
          arguments.end() ||
      arguments[0] == "-h") {
    std::cout << kRulesUsage;
    return 0;
  }
  const std::string &action = arguments[0];
  if (action == "add")
    return Add(context);
  if (action == "list")
    return List(context);
  if (action == "delete")
    return Delete(context);
  if (action == "test")
    return Test(context);
  Invalid(fmt::format("unknown rules action '{}'\n{}", action, kRulesUsage));
}

} // namespace hokan::cli
