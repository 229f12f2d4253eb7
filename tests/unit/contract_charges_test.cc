// Contract charge arithmetic (billing/contract_charges.h): the seed
// examples, month boundaries, started periods and rates by effective date.
// The same cases run against the SQL view in the billing integration test.

#include "billing/contract_charges.h"

#include <catch2/catch.hpp>

#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"
#include "tests/unit/contract_charge_cases.h"

namespace hokan::billing {
namespace {

archive::CivilDate Day(const char* text) { return *archive::ParseIsoDate(text); }

std::vector<Price> Prices(const std::vector<std::pair<const char*, std::int64_t>>& rows) {
  std::vector<Price> prices;
  for (const auto& [day, amount] : rows) prices.push_back({Day(day), amount, "JPY"});
  return prices;
}

}  // namespace

TEST_CASE("contract charges: the shared cases", "[contract_charges]") {
  const auto prices = Prices(testing::kContractCasePointPrices);
  for (const auto& example : testing::kContractChargeCases) {
    INFO(example.name);
    const auto charges = ContractCharges(
        {example.service_period, Day(example.starts_on), Day(example.ends_on)}, prices);
    int points = 0;
    for (const auto& charge : charges) points += charge.points;
    CHECK(points == example.points);
    CHECK(TotalCharged(charges) == example.total_minor);
    std::int64_t listed = 0;
    for (const auto& [month, amount] : example.by_month) {
      INFO(month);
      CHECK(TotalCharged(charges, ParseBillingMonth("month", month)) == amount);
      listed += amount;
    }
    CHECK(listed == example.total_minor);  // no month left out of the table
  }
}

TEST_CASE("contract charges: the seed examples in detail", "[contract_charges]") {
  const std::vector<Price> rate = {{Day("2026-01-01"), 1000, "JPY"}};
  const auto annual = ContractCharges({"annual", Day("2026-01-01"), Day("2026-12-31")}, rate);
  REQUIRE(annual.size() == 1);
  CHECK(annual[0].points == 10);
  CHECK(annual[0].amount_minor == 10000);
  CHECK(archive::FormatIsoDate(annual[0].period_end) == "2026-12-31");

  const auto monthly = ContractCharges({"monthly", Day("2026-01-01"), Day("2026-12-31")}, rate);
  REQUIRE(monthly.size() == 12);
  CHECK(TotalCharged(monthly) == 12000);
  CHECK(archive::FormatIsoDate(monthly[1].period_start) == "2026-02-01");
  CHECK(archive::FormatIsoDate(monthly[1].period_end) == "2026-02-28");
}

TEST_CASE("contract charges: periods from the 31st do not drift", "[contract_charges]") {
  const auto charges = ContractCharges({"monthly", Day("2026-01-31"), Day("2027-01-30")},
                                       {{Day("2026-01-01"), 1000, "JPY"}});
  REQUIRE(charges.size() == 12);
  const std::vector<std::pair<const char*, const char*>> expected = {{"2026-01-31", "2026-02-27"},
                                                                     {"2026-02-28", "2026-03-30"},
                                                                     {"2026-03-31", "2026-04-29"},
                                                                     {"2026-04-30", "2026-05-30"},
                                                                     {"2026-05-31", "2026-06-29"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(archive::FormatIsoDate(charges[i].period_start) == expected[i].first);
    CHECK(archive::FormatIsoDate(charges[i].period_end) == expected[i].second);
  }
  // One charge in each calendar month from January to December.
  for (int month = 1; month <= 12; ++month) {
    CHECK(TotalCharged(charges, BillingMonth{2026, month}) == 1000);
  }
  CHECK(archive::FormatIsoDate(charges.back().period_end) == "2027-01-30");
}

TEST_CASE("contract charges: a short last period is clipped and charged whole",
          "[contract_charges]") {
  const auto charges = ContractCharges({"monthly", Day("2026-01-10"), Day("2026-02-12")},
                                       {{Day("2026-01-01"), 1000, "JPY"}});
  REQUIRE(charges.size() == 2);
  CHECK(archive::FormatIsoDate(charges[1].period_start) == "2026-02-10");
  CHECK(archive::FormatIsoDate(charges[1].period_end) == "2026-02-12");
  CHECK(charges[1].amount_minor == 1000);
  // A one-day contract is one month.
  CHECK(ContractCharges({"monthly", Day("2026-03-01"), Day("2026-03-01")},
                        {{Day("2026-01-01"), 1000, "JPY"}})
            .size() == 1);
}

TEST_CASE("contract charges: the price in force by effective date", "[contract_charges]") {
  const std::vector<Price> prices = {{Day("2026-07-01"), 1500, "JPY"},
                                     {Day("2026-01-01"), 1000, "JPY"}};  // any order
  CHECK_FALSE(PriceInForce(prices, Day("2025-12-31")));
  CHECK(PriceInForce(prices, Day("2026-01-01"))->amount_minor == 1000);
  CHECK(PriceInForce(prices, Day("2026-06-30"))->amount_minor == 1000);
  CHECK(PriceInForce(prices, Day("2026-07-01"))->amount_minor == 1500);
  CHECK(PriceInForce(prices, Day("2030-01-01"))->amount_minor == 1500);

  // A period without a rate is listed, unpriced, and charges nothing.
  const auto charges = ContractCharges({"monthly", Day("2025-12-01"), Day("2026-01-31")}, prices);
  REQUIRE(charges.size() == 2);
  CHECK_FALSE(charges[0].rate);
  CHECK(charges[0].amount_minor == 0);
  CHECK(charges[1].amount_minor == 1000);
}

TEST_CASE("contract charges: refused input", "[contract_charges]") {
  CHECK_THROWS_AS(ContractCharges({"weekly", Day("2026-01-01"), Day("2026-12-31")}, {}), Error);
  CHECK_THROWS_AS(ContractCharges({"annual", Day("2026-02-01"), Day("2026-01-31")}, {}), Error);
}

}  // namespace hokan::billing
