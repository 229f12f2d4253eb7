// hokan billing invoice --facility F --month YYYY-MM [--format table|csv]:
// a facility's monthly invoice, read from the billing views (the figures
// billing staff see with psql).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/contract_command_options.h"
#include "archive/common/error.h"
#include "billing/admin_input.h"
#include "billing/invoice_report.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void PrintCsv(const billing::Invoice& invoice) {
  const std::string month = billing::FormatBillingMonth(invoice.month);
  std::cout << "facility,month,kind,description,quantity,unit_amount_minor,amount_minor,"
               "currency\n";
  for (const auto& line : invoice.lines) {
    std::cout << fmt::format("{},{},{},{},{},{},{},{}\n", invoice.facility, month, line.kind,
                             CsvField(line.description), line.quantity, line.unit_amount_minor,
                             line.amount_minor, line.currency);
  }
  for (const auto& total : invoice.totals) {
    std::cout << fmt::format("{},{},total,,,,{},{}\n", invoice.facility, month, total.total_minor,
                             total.currency);
  }
}

void PrintTable(const billing::Invoice& invoice) {
  const std::string month = billing::FormatBillingMonth(invoice.month);
  std::cout << fmt::format("invoice of facility {} for {} (amounts in minor units)\n",
                           invoice.facility, month);
  if (invoice.lines.empty()) {
    std::cout << "no charges\n";
    return;
  }
  std::cout << fmt::format("{:<15} {:<60} {:>14} {:>12} {:>14} {}\n", "kind", "description",
                           "quantity", "unit", "amount", "currency");
  for (const auto& line : invoice.lines) {
    std::cout << fmt::format("{:<15} {:<60} {:>14} {:>12} {:>14} {}\n", line.kind, line.description,
                             line.quantity, line.unit_amount_minor, line.amount_minor,
                             line.currency);
  }
  for (const auto& total : invoice.totals) {
    std::cout << fmt::format("{:<15} {:<60} {:>14} {:>12} {:>14} {}\n", "total", "", "", "",
                             total.total_minor, total.currency);
  }
}

int Invoice(CommandContext& context) {
  po::options_description options;
  options.add_options()("facility", po::value<std::string>())("month", po::value<std::string>())(
      "format", po::value<std::string>());
  const SubcommandOptions values("billing invoice", AfterAction(context.arguments), options);
  const std::string facility = values.Required("facility");
  const billing::BillingMonth month =
      billing::ParseBillingMonth("--month", values.Required("month"));
  const std::string format =
      billing::ParseOutputFormat(values.Optional("format").value_or("table"));
  const billing::Invoice invoice = billing::ReadInvoice(context.database, facility, month);
  if (format == "csv") {
    PrintCsv(invoice);
  } else {
    PrintTable(invoice);
  }
  return 0;
}

}  // namespace

int RunBillingCommand(CommandContext& context) {
  ActionOf("billing", context.arguments, {"invoice"});
  return Invoice(context);
}

}  // namespace hokan::cli
