#include "cli/command_arguments.h"

#include "archive/common/error.h"

namespace po = boost::program_options;

namespace hokan::cli {

po::variables_map ParseCommandArguments(const std::vector<std::string>& arguments,
                                        const po::options_description& options,
                                        const std::string& command) {
  po::variables_map values;
  try {
    po::store(po::command_line_parser(arguments).options(options).run(), values);
  } catch (const po::error& error) {
    throw Error(ErrorCode::kInvalidInput, command + ": " + error.what());
  }
  return values;
}

std::string ActorOf(const po::variables_map& values, const std::string& fallback,
                    const std::string& command) {
  if (!values.count("by")) return fallback;
  const std::string actor = values["by"].as<std::string>();
  if (actor.find_first_not_of(' ') == std::string::npos) {
    throw Error(ErrorCode::kInvalidInput, command + ": --by is empty");
  }
  return actor;
}

}  // namespace hokan::cli
