#pragma once

// Contract charge cases shared by the unit test of billing/contract_charges
// (tests/unit/contract_charges_test.cc) and the integration test of the view
// billing.contract_charges (tests/integration/billing_admin_test.cc): the
// C++ arithmetic and the SQL view must give these same figures. Every case
// is priced with kContractCasePointPrices; amounts are JPY (minor unit 1).

#include <cstdint>
#include <utility>
#include <vector>

namespace hokan::testing {

// The accounting_point rows of the price list: (effective_from, amount).
inline const std::vector<std::pair<const char*, std::int64_t>> kContractCasePointPrices = {
    {"2026-01-01", 1000},
    {"2027-01-01", 1200},
};

struct ContractChargeCase {
  const char* name;
  const char* service_period;  // annual | monthly
  const char* starts_on;
  const char* ends_on;
  int points;                // over the whole contract
  std::int64_t total_minor;  // over the whole contract
  // Every month with a charge (amount > 0): ("YYYY-MM", amount).
  std::vector<std::pair<const char*, std::int64_t>> by_month;
};

// clang-format off
inline const std::vector<ContractChargeCase> kContractChargeCases = {
    // The seed examples: annual 10 points x 1 year x 1000; monthly 1 point x 12 months x 1000.
    {"annual seed", "annual", "2026-01-01", "2026-12-31", 10, 10000, {{"2026-01", 10000}}},
    {"monthly seed", "monthly", "2026-01-01", "2026-12-31", 12, 12000,
     {{"2026-01", 1000}, {"2026-02", 1000}, {"2026-03", 1000}, {"2026-04", 1000},
      {"2026-05", 1000}, {"2026-06", 1000}, {"2026-07", 1000}, {"2026-08", 1000},
      {"2026-09", 1000}, {"2026-10", 1000}, {"2026-11", 1000}, {"2026-12", 1000}}},
    // Months from the 31st: 01-31, 02-28, 03-31, 04-30; 05-31 is after the end.
    {"monthly from the 31st", "monthly", "2026-01-31", "2026-05-30", 4, 4000,
     {{"2026-01", 1000}, {"2026-02", 1000}, {"2026-03", 1000}, {"2026-04", 1000}}},
    // Two contract years, the second at the rate in force when it starts.
    {"annual over a rate change", "annual", "2026-03-15", "2028-03-14", 20, 22000,
     {{"2026-03", 10000}, {"2027-03", 12000}}},
    // One day into a second year: the started year counts whole.
    {"annual started year", "annual", "2026-01-01", "2027-01-01", 20, 22000,
     {{"2026-01", 10000}, {"2027-01", 12000}}},
    // Mid-month starts: 11-15, 12-15, 01-15; 02-15 is after the end.
    {"monthly mid-month", "monthly", "2026-11-15", "2027-02-14", 3, 3200,
     {{"2026-11", 1000}, {"2026-12", 1000}, {"2027-01", 1200}}},
    // No rate before 2026-01-01: those months charge nothing.
    {"monthly before the first rate", "monthly", "2025-11-01", "2026-01-31", 3, 1000,
     {{"2026-01", 1000}}},
    // A rate effective on the period's first day applies to it.
    {"monthly rate from its first day", "monthly", "2026-12-01", "2027-01-31", 2, 2200,
     {{"2026-12", 1000}, {"2027-01", 1200}}},
    // Leap year: 01-31, 02-29; 03-31 is after the end.
    {"monthly leap February", "monthly", "2028-01-31", "2028-03-30", 2, 2400,
     {{"2028-01", 1200}, {"2028-02", 1200}}},
};
// clang-format on

}  // namespace hokan::testing
