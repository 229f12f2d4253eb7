#pragma once

// Fee schedules and the price list as the administrator manages them
// (`hokan fee`, `hokan price`; tables fee_schedules and price_list, schema
// 010). Rows are never changed: a new fee or price is a new row with its
// effective date, and the one in force on a day is the row with the latest
// effective date not after it. Every addition writes its audit row
// (fee.add, price.set) in the same transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/rules/storage_period.h"

namespace hokan::archive {
class Database;
}

namespace hokan::billing {

// A fee per examination retrieved under a purpose, optionally per modality.
struct FeeSetting {
  std::string purpose;
  std::optional<std::string> modality;  // nullopt: every modality without its own fee
  std::int64_t amount_minor = 0;
  std::string currency;
  archive::CivilDate effective_from;
};

// A price of the price list: accounting_point, storage_gb_month,
// quota_overage_gb_month or offline_export.
struct PriceSetting {
  std::string item;
  std::int64_t amount_minor = 0;
  std::string currency;
  archive::CivilDate effective_from;
};

// A stored fee or price and where it stands on the day it is listed:
// "in force", "future" or "replaced" (a later one is in force).
struct FeeRow {
  std::int64_t id = 0;
  FeeSetting fee;
  std::string status;
};
struct PriceRow {
  std::int64_t id = 0;
  PriceSetting price;
  std::string status;
};

// Reads and writes fees and prices. Thread-safe (each call leases its own
// connection). A refused write changes nothing and throws
// hokan::Error(kInvalidInput) naming what is wrong: an unknown purpose, a
// row that exists for the same purpose, modality (or item) and effective
// date (the message names its id), a price effective before `today` without
// `allow_past` (it would change invoices already issued). PostgreSQL
// failures throw hokan::Error(kDatabase).
class FeeAdmin {
 public:
  explicit FeeAdmin(archive::Database& database);  // must outlive this

  // Adds a fee line; returns its id. A fee effective in the past applies to
  // fee events recorded from now on: events already recorded keep their
  // amount.
  std::int64_t AddFee(const FeeSetting& fee, const std::string& actor);

  // Fee lines, of `purpose` when given (unknown: kInvalidInput), by
  // purpose, modality and effective date; status as of `today`.
  std::vector<FeeRow> ListFees(const std::optional<std::string>& purpose,
                               const archive::CivilDate& today);

  // Adds a price; returns its id. The billing views price every day with
  // the row in force that day, so a past effective date rewrites past
  // invoices: refused unless `allow_past`.
  std::int64_t SetPrice(const PriceSetting& price, const archive::CivilDate& today, bool allow_past,
                        const std::string& actor);

  // Every price, by item and effective date; status as of `today`.
  std::vector<PriceRow> ListPrices(const archive::CivilDate& today);

 private:
  archive::Database& database_;
};

}  // namespace hokan::billing
