#pragma once

// Reading a subcommand's options, shared by the `hokan` subcommands.

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace hokan::cli {

// Parses `arguments` (what follows the subcommand word) against `options`.
// An unknown option, a missing value or a repeated one throws
// hokan::Error(kInvalidInput) "<command>: <what was wrong>", so the command
// exits with status 2 having changed nothing.
boost::program_options::variables_map ParseCommandArguments(
    const std::vector<std::string>& arguments,
    const boost::program_options::options_description& options, const std::string& command);

// The --by NAME a command records as its actor, or `fallback` (the user
// running it) without --by. Throws hokan::Error(kInvalidInput) when --by
// is given blank.
std::string ActorOf(const boost::program_options::variables_map& values,
                    const std::string& fallback, const std::string& command);

}  // namespace hokan::cli
