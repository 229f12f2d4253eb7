// hokan fee add|list: the fee per examination retrieved under a purpose;
// hokan price set|list: contract, storage, overage and export prices.
// Every amount is integer minor units with its currency; a change is a new
// row from its effective date, so what was charged before keeps its price.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/contract_command_options.h"
#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"
#include "billing/admin_input.h"
#include "billing/fee_admin.h"

namespace po = boost::program_options;

namespace hokan::cli {
namespace {

po::options_description AmountOptions() {
  po::options_description options;
  options.add_options()("amount", po::value<std::string>())("currency", po::value<std::string>())(
      "effective", po::value<std::string>())("by", po::value<std::string>());
  return options;
}

int AddFee(CommandContext& context) {
  po::options_description options = AmountOptions();
  options.add_options()("purpose", po::value<std::string>())("modality", po::value<std::string>());
  const SubcommandOptions values("fee add", AfterAction(context.arguments), options);
  billing::FeeSetting fee;
  fee.purpose = billing::ParsePurposeName(values.Required("purpose"));
  if (auto modality = values.Optional("modality")) {
    fee.modality = billing::ParseModality("--modality", *modality);
  }
  fee.amount_minor = billing::ParseAmountMinor("--amount", values.Required("amount"));
  fee.currency = billing::ParseCurrency("--currency", values.Required("currency"));
  fee.effective_from = billing::ParseDay("--effective", values.Required("effective"));
  billing::FeeAdmin fees(context.database);
  const std::int64_t id = fees.AddFee(fee, values.Actor(context));
  std::cout << fmt::format("fee {}: purpose {}, modality {}: {} {} per examination from {}\n", id,
                           fee.purpose, fee.modality.value_or("any"), fee.amount_minor,
                           fee.currency, archive::FormatIsoDate(fee.effective_from));
  if (archive::CompareDates(fee.effective_from, archive::DateOf(Now())) < 0) {
    std::cout << "note: the effective date is past; retrievals already recorded keep the fee "
                 "they were charged\n";
  }
  return 0;
}

int ListFees(CommandContext& context) {
  po::options_description options;
  options.add_options()("purpose", po::value<std::string>());
  const SubcommandOptions values("fee list", AfterAction(context.arguments), options);
  billing::FeeAdmin fees(context.database);
  const auto today = archive::DateOf(Now());
  std::cout << fmt::format("{:>6}  {:<16} {:<8} {:>14} {:<8} {:<10} {}\n", "id", "purpose",
                           "modality", "amount_minor", "currency", "effective", "status");
  for (const auto& row : fees.ListFees(values.Optional("purpose"), today)) {
    std::cout << fmt::format("{:>6}  {:<16} {:<8} {:>14} {:<8} {:<10} {}\n", row.id,
                             row.fee.purpose, row.fee.modality.value_or("any"),
                             row.fee.amount_minor, row.fee.currency,
                             archive::FormatIsoDate(row.fee.effective_from), row.status);
  }
  return 0;
}

int SetPrice(CommandContext& context) {
  po::options_description options = AmountOptions();
  options.add_options()("allow-past", "an effective date before today (reprices past days)");
  const SubcommandOptions values("price set", AfterAction(context.arguments), options, 1);
  const auto item = values.Optional("id");
  if (!item) {
    throw Error(ErrorCode::kInvalidInput,
                "'price set' needs an item: accounting_point, storage_gb_month, "
                "quota_overage_gb_month or offline_export");
  }
  billing::PriceSetting price;
  price.item = billing::ParsePriceItem(*item);
  price.amount_minor = billing::ParseAmountMinor("--amount", values.Required("amount"));
  price.currency = billing::ParseCurrency("--currency", values.Required("currency"));
  price.effective_from = billing::ParseDay("--effective", values.Required("effective"));
  billing::FeeAdmin fees(context.database);
  const std::int64_t id =
      fees.SetPrice(price, archive::DateOf(Now()), values.Has("allow-past"), values.Actor(context));
  std::cout << fmt::format("price {}: {} {} {} from {}\n", id, price.item, price.amount_minor,
                           price.currency, archive::FormatIsoDate(price.effective_from));
  return 0;
}

int ListPrices(CommandContext& context) {
  const SubcommandOptions values("price list", AfterAction(context.arguments),
                                 po::options_description());
  billing::FeeAdmin fees(context.database);
  std::cout << fmt::format("{:>6}  {:<24} {:>14} {:<8} {:<10} {}\n", "id", "item", "amount_minor",
                           "currency", "effective", "status");
  for (const auto& row : fees.ListPrices(archive::DateOf(Now()))) {
    std::cout << fmt::format("{:>6}  {:<24} {:>14} {:<8} {:<10} {}\n", row.id, row.price.item,
                             row.price.amount_minor, row.price.currency,
                             archive::FormatIsoDate(row.price.effective_from), row.status);
  }
  return 0;
}

}  // namespace

int RunFeeCommand(CommandContext& context) {
  const std::string action = ActionOf("fee", context.arguments, {"add", "list"});
  if (action == "add") return AddFee(context);
  return ListFees(context);
}

int RunPriceCommand(CommandContext& context) {
  const std::string action = ActionOf("price", context.arguments, {"set", "list"});
  if (action == "set") return SetPrice(context);
  return ListPrices(context);
}

}  // namespace hokan::cli
