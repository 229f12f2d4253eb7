// hokan patient opt-in|opt-out|clear|list and hold set|release|list.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/contract_command_options.h"
#include "archive/common/error.h"
#include "archive/index/contract_admin_holds.h"
#include "archive/index/contract_admin_patients.h"

namespace po = boost::program_options;

namespace hokan::cli {

int RunPatientCommand(CommandContext& context) {
  const std::string action =
      ActionOf("patient", context.arguments, {"opt-in", "opt-out", "clear", "list"});
  po::options_description options;
  options.add_options()("facility", po::value<std::string>());
  if (action != "list") {
    options.add_options()("patient-id", po::value<std::string>())("by", po::value<std::string>())(
        "reason", po::value<std::string>());
  }
  const SubcommandOptions values("patient " + action, AfterAction(context.arguments), options);
  const std::string facility = values.Required("facility");
  archive::PatientChoices choices(context.database);
  if (action == "list") {
    std::cout << fmt::format("{:<24} {:<8} {:<20} {:<16} {}\n", "patient_id", "choice",
                             "recorded_at", "recorded_by", "reason");
    for (const auto& row : choices.List(facility)) {
      std::cout << fmt::format("{:<24} {:<8} {:<20} {:<16} {}\n", row.patient_id,
                               row.choice == "opt_in" ? "opt-in" : "opt-out", row.recorded_at,
                               row.recorded_by, row.reason);
    }
    return 0;
  }
  const std::string patient_id = values.Required("patient-id");
  const std::string reason = values.Optional("reason").value_or("");
  if (action == "clear") {
    choices.Clear(facility, patient_id, values.Actor(context), reason);
    std::cout << fmt::format("patient '{}' of facility {}: choice cleared\n", patient_id, facility);
    return 0;
  }
  const std::string choice = action == "opt-in" ? "opt_in" : "opt_out";
  const std::string before =
      choices.Record(facility, patient_id, choice, values.Actor(context), reason);
  std::cout << fmt::format(
      "patient '{}' of facility {}: {}{}\n", patient_id, facility, action,
      before.empty() ? "" : fmt::format(" (was {})", before == "opt_in" ? "opt-in" : "opt-out"));
  return 0;
}

int RunHoldCommand(CommandContext& context) {
  const std::string action = ActionOf("hold", context.arguments, {"set", "release", "list"});
  po::options_description options;
  options.add_options()("facility", po::value<std::string>());
  if (action != "list") {
    options.add_options()("study", po::value<std::string>())("by", po::value<std::string>())(
        "reason", po::value<std::string>());
  }
  const SubcommandOptions values("hold " + action, AfterAction(context.arguments), options);
  archive::LegalHolds holds(context.database);
  if (action == "list") {
    std::cout << fmt::format("{:<16} {:<64} {:<16} {:<10} {:<20} {}\n", "facility",
                             "study_instance_uid", "patient_id", "study_date", "expires_at",
                             "reason");
    for (const auto& held : holds.List(values.Optional("facility"))) {
      std::cout << fmt::format("{:<16} {:<64} {:<16} {:<10} {:<20} {}\n", held.facility,
                               held.study_instance_uid, held.patient_id, held.study_date,
                               held.expires_at.value_or("never"), held.hold_reason);
    }
    return 0;
  }
  const std::string facility = values.Required("facility");
  const std::string study = values.Required("study");
  if (action == "set") {
    holds.Set(facility, study, values.Required("reason"), values.Actor(context));
    std::cout << fmt::format("study {} of facility {} is on hold\n", study, facility);
    return 0;
  }
  holds.Release(facility, study, values.Optional("reason").value_or(""), values.Actor(context));
  std::cout << fmt::format("study {} of facility {}: hold released\n", study, facility);
  return 0;
}

}  // namespace hokan::cli
