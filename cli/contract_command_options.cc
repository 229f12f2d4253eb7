#include "cli/contract_command_options.h"

#include <fmt/format.h>

#include "archive/common/error.h"

namespace po = boost::program_options;

namespace hokan::cli {

SubcommandOptions::SubcommandOptions(std::string subcommand,
                                     const std::vector<std::string>& arguments,
                                     const po::options_description& options, int positional_count)
    : subcommand_(std::move(subcommand)) {
  po::options_description all = options;
  all.add_options()("id", po::value<std::string>());
  po::positional_options_description positional;
  if (positional_count > 0) positional.add("id", positional_count);
  try {
    po::store(po::command_line_parser(arguments).options(all).positional(positional).run(),
              values_);
    po::notify(values_);
  } catch (const po::error& error) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}': {}", subcommand_, error.what()));
  }
}

std::optional<std::string> SubcommandOptions::Optional(const std::string& name) const {
  if (!values_.count(name)) return std::nullopt;
  return values_[name].as<std::string>();
}

std::string SubcommandOptions::Required(const std::string& name) const {
  const auto value = Optional(name);
  if (!value || value->empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' needs --{}", subcommand_, name));
  }
  return *value;
}

std::int64_t SubcommandOptions::RequiredId(const std::string& what) const {
  const auto text = Optional("id");
  if (!text) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' needs a {}", subcommand_, what));
  }
  const bool digits = !text->empty() && text->size() <= 18 &&
                      text->find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoll(*text) <= 0) {
    throw Error(
        ErrorCode::kInvalidInput,
        fmt::format("'{}': {} '{}' is not a positive whole number", subcommand_, what, *text));
  }
  return std::stoll(*text);
}

std::string SubcommandOptions::Actor(const CommandContext& context) const {
  const auto by = Optional("by");
  if (!by) return context.actor;
  if (by->find_first_not_of(" \t") == std::string::npos) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}': --by must not be empty", subcommand_));
  }
  return *by;
}

std::string ActionOf(const std::string& command, const std::vector<std::string>& arguments,
                     const std::vector<std::string>& actions) {
  std::string list;
  for (const auto& action : actions) list += (list.empty() ? "" : "|") + action;
  if (arguments.empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' needs {}", command, list));
  }
  for (const auto& action : actions) {
    if (arguments[0] == action) return action;
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("unknown {} action '{}' (allowed: {})", command, arguments[0], list));
}

std::vector<std::string> AfterAction(const std::vector<std::string>& arguments) {
  if (arguments.empty()) return {};
  return std::vector<std::string>(arguments.begin() + 1, arguments.end());
}

int IntegerOption(const std::string& option, const std::string& text, int minimum, int maximum) {
  const bool digits = !text.empty() && text.size() <= 9 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(text) < minimum || std::stoi(text) > maximum) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{} '{}' must be a whole number from {} to {}", option, text, minimum,
                            maximum));
  }
  return std::stoi(text);
}

}  // namespace hokan::cli
