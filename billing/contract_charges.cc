#include "billing/contract_charges.h"

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"

namespace hokan::billing {

std::optional<Price> PriceInForce(const std::vector<Price>& prices, const archive::CivilDate& day) {
  std::optional<Price> in_force;
  for (const auto& price : prices) {
    if (archive::CompareDates(price.effective_from, day) > 0) continue;
    if (!in_force || archive::CompareDates(price.effective_from, in_force->effective_from) > 0) {
      in_force = price;
    }
  }
  return in_force;
}

std::vector<ContractCharge> ContractCharges(const ContractPeriod& contract,
                                            const std::vector<Price>& point_prices) {
  const bool annual = contract.service_period == "annual";
  if (!annual && contract.service_period != "monthly") {
    throw Error(
        ErrorCode::kInvalidInput,
        fmt::format("service period '{}' is not annual or monthly", contract.service_period));
  }
  if (archive::CompareDates(contract.ends_on, contract.starts_on) < 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("contract ends on {}, before its start {}",
                                                      archive::FormatIsoDate(contract.ends_on),
                                                      archive::FormatIsoDate(contract.starts_on)));
  }
  const int months_per_period = annual ? 12 : 1;
  std::vector<ContractCharge> charges;
  for (int period = 0;; ++period) {
    ContractCharge charge;
    // Always from the first day, so a clamped day of month does not stick.
    charge.period_start = archive::AddToDate(contract.starts_on, 0, period * months_per_period, 0);
    if (archive::CompareDates(charge.period_start, contract.ends_on) > 0) break;
    const archive::CivilDate next =
        archive::AddToDate(contract.starts_on, 0, (period + 1) * months_per_period, 0);
    const archive::CivilDate last_day = archive::AddToDate(next, 0, 0, -1);
    charge.period_end =
        archive::CompareDates(last_day, contract.ends_on) < 0 ? last_day : contract.ends_on;
    charge.points = annual ? kPointsPerYear : kPointsPerMonth;
    charge.rate = PriceInForce(point_prices, charge.period_start);
    charge.amount_minor = charge.rate ? charge.points * charge.rate->amount_minor : 0;
    charges.push_back(charge);
  }
  return charges;
}

std::int64_t TotalCharged(const std::vector<ContractCharge>& charges,
                          const std::optional<BillingMonth>& month) {
  std::int64_t total = 0;
  for (const auto& charge : charges) {
    if (!month || MonthOf(charge.period_start) == *month) total += charge.amount_minor;
  }
  return total;
}

}  // namespace hokan::billing
