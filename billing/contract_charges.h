#pragma once

// Contract charges: what a storage contract costs, period by period, in
// accounting points and money. Pure (no database, no clock);
// schema/011_billing_views.sql computes the same figures in the view
// billing.contract_charges, and the invoices take them from there.
//
// Periods are anchored at the contract's first day: an annual contract's
// years start on starts_on + 12k months, a monthly contract's months on
// starts_on + k months, the day of month clamped to a shorter month's last
// day as archive::AddToDate and PostgreSQL's date + interval do (a monthly
// contract from 2026-01-31 has months from 01-31, 02-28, 03-31, 04-30, ...,
// always counted from the start, so the 31st comes back). Every period that
// starts on or before ends_on is charged whole (a started period counts, as
// archive::PointsOf counts them): 10 points for a year, 1 for a month. The
// charge falls in the calendar month (UTC) in which its period starts, at
// the accounting point rate in force on that day: the price with the latest
// effective_from not after it. A period with no rate in force is listed
// without one and charges nothing.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/rules/storage_period.h"
#include "billing/admin_input.h"

namespace hokan::billing {

inline constexpr int kPointsPerYear = 10;  // an annual contract's year
inline constexpr int kPointsPerMonth = 1;  // a monthly contract's month

// One row of the price list for one item.
struct Price {
  archive::CivilDate effective_from;
  std::int64_t amount_minor = 0;
  std::string currency;
};

// The price in force on `day`: the one with the latest effective_from not
// after `day`; nullopt when every price starts later (or there is none).
std::optional<Price> PriceInForce(const std::vector<Price>& prices, const archive::CivilDate& day);

// The dates of a contract version that billing needs.
struct ContractPeriod {
  std::string service_period;  // "annual" | "monthly"
  archive::CivilDate starts_on;
  archive::CivilDate ends_on;  // inclusive; REQUIRES: not before starts_on
};

// One charged period of a contract.
struct ContractCharge {
  archive::CivilDate period_start;
  archive::CivilDate period_end;  // inclusive; the contract's end when that comes first
  int points = 0;
  std::optional<Price> rate;      // the accounting point rate in force on period_start
  std::int64_t amount_minor = 0;  // points x rate; 0 without a rate
};

// Every charged period of `contract`, in order, priced from `point_prices`
// (the accounting_point rows of the price list, any order). Throws
// hokan::Error(kInvalidInput) for a service period other than annual or
// monthly, or ends_on before starts_on.
std::vector<ContractCharge> ContractCharges(const ContractPeriod& contract,
                                            const std::vector<Price>& point_prices);

// The sum of the charges whose period starts in `month` (every month when
// nullopt).
std::int64_t TotalCharged(const std::vector<ContractCharge>& charges,
                          const std::optional<BillingMonth>& month = std::nullopt);

}  // namespace hokan::billing
