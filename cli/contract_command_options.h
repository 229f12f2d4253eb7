#pragma once

// Option parsing shared by the contract, patient, hold, usage and audit
// subcommands of `hokan` (boost::program_options underneath). Every
// problem throws hokan::Error(kInvalidInput) naming the subcommand and the
// option, so `hokan` exits 2 and changes nothing.

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace hokan::cli {

// The parsed options of one subcommand, e.g. "contract add".
class SubcommandOptions {
 public:
  // Parses `arguments` against `options`; at most `positional_count`
  // positional arguments are taken as "id" (1) — more, or an unknown
  // option, is an error.
  SubcommandOptions(std::string subcommand, const std::vector<std::string>& arguments,
                    const boost::program_options::options_description& options,
                    int positional_count = 0);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Optional(const std::string& name) const;
  // Throws naming --name when absent or empty.
  std::string Required(const std::string& name) const;
  // The positional ID as a positive integer; throws when absent or not one.
  std::int64_t RequiredId(const std::string& what) const;
  // --by when given (not blank), else the context's actor.
  std::string Actor(const CommandContext& context) const;

  const std::string& subcommand() const { return subcommand_; }

 private:
  std::string subcommand_;
  boost::program_options::variables_map values_;
};

// The first argument (the action word, e.g. "add"); throws naming `command`
// and the `actions` allowed when it is absent or not one of them.
std::string ActionOf(const std::string& command, const std::vector<std::string>& arguments,
                     const std::vector<std::string>& actions);

// The arguments after the action word.
std::vector<std::string> AfterAction(const std::vector<std::string>& arguments);

// A whole number in [minimum, maximum] given as --option; throws naming it.
int IntegerOption(const std::string& option, const std::string& text, int minimum, int maximum);

}  // namespace hokan::cli
