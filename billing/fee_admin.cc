#include "billing/fee_admin.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/contract_admin_terms.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::billing {
namespace {

constexpr const char* kUniqueViolation = "23505";

[[noreturn]] void Refuse(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

archive::CivilDate StoredDate(const pqxx::field& field) {
  const auto date = archive::ParseIsoDate(field.as<std::string>());
  if (!date) {
    throw Error(ErrorCode::kInternal,
                fmt::format("billing: unexpected date '{}'", field.as<std::string>()));
  }
  return *date;
}

// Where a row stands on `today` among the rows of its kind (same purpose
// and modality, or same item): SQL shared by both lists. $1 is today.
constexpr const char* kStatusColumn =
    "CASE WHEN effective_from > $1::date THEN 'future' "
    "     WHEN effective_from = max(effective_from) FILTER (WHERE effective_from <= $1::date) "
    "          OVER (PARTITION BY {}) THEN 'in force' "
    "     ELSE 'replaced' END";

std::string FeeDescription(const FeeSetting& fee) {
  return fmt::format("purpose {}, modality {}: {} {} per examination from {}", fee.purpose,
                     fee.modality.value_or("any"), fee.amount_minor, fee.currency,
                     archive::FormatIsoDate(fee.effective_from));
}

}  // namespace

FeeAdmin::FeeAdmin(archive::Database& database) : database_(database) {}

std::int64_t FeeAdmin::AddFee(const FeeSetting& fee, const std::string& actor) {
  return archive::sql::ReadWrite(
      database_, fmt::format("add a fee to purpose '{}'", fee.purpose),
      [&](pqxx::work& transaction) {
        const auto purpose =
            transaction.exec_params("SELECT id FROM purposes WHERE name = $1", fee.purpose);
        if (purpose.empty()) Refuse(fmt::format("--purpose: unknown purpose '{}'", fee.purpose));
        const auto purpose_id = purpose[0][0].as<std::int64_t>();
        const std::string effective = archive::FormatIsoDate(fee.effective_from);
        const auto existing = transaction.exec_params(
            "SELECT id FROM fee_schedules WHERE purpose_id = $1 "
            "   AND modality IS NOT DISTINCT FROM $2 AND effective_from = $3::date",
            purpose_id, fee.modality, effective);
        if (!existing.empty()) {
          Refuse(
              fmt::format("--effective {}: fee {} already takes effect that day for purpose "
                          "'{}', modality {}; choose another day",
                          effective, existing[0][0].as<std::int64_t>(), fee.purpose,
                          fee.modality.value_or("any")));
        }
        std::int64_t id = 0;
        try {
          id = transaction
                   .exec_params(
                       "INSERT INTO fee_schedules (purpose_id, modality, amount_minor, currency, "
                       "    effective_from, created_at) "
                       "VALUES ($1, $2, $3, $4, $5::date, $6::timestamptz) RETURNING id",
                       purpose_id, fee.modality, fee.amount_minor, fee.currency, effective,
                       FormatUtcMicroseconds(Now()))[0][0]
                   .as<std::int64_t>();
        } catch (const pqxx::sql_error& error) {
          if (error.sqlstate() == kUniqueViolation) {
            Refuse(
                fmt::format("--effective {}: another fee for purpose '{}' was just added "
                            "for that day",
                            effective, fee.purpose));
          }
          throw;
        }
        archive::RecordAudit(
            transaction, archive::AuditEntry{actor, "fee.add", std::nullopt,
                                             fmt::format("fee {}", id), FeeDescription(fee), ""});
        return id;
      });
}

std::vector<FeeRow> FeeAdmin::ListFees(const std::optional<std::string>& purpose,
                                       const archive::CivilDate& today) {
  return archive::sql::ReadOnly(database_, "list fees", [&](pqxx::read_transaction& transaction) {
    if (purpose &&
        transaction.exec_params("SELECT 1 FROM purposes WHERE name = $1", *purpose).empty()) {
      Refuse(fmt::format("--purpose: unknown purpose '{}'", *purpose));
    }
    const auto result = transaction.exec_params(
        fmt::format("SELECT f.id, p.name, f.modality, f.amount_minor, f.currency, "
                    "       f.effective_from::text, {} "
                    "  FROM fee_schedules f JOIN purposes p ON p.id = f.purpose_id "
                    " WHERE $2::text IS NULL OR p.name = $2 "
                    " ORDER BY p.name, f.modality NULLS FIRST, f.effective_from",
                    fmt::format(kStatusColumn, "f.purpose_id, f.modality")),
        archive::FormatIsoDate(today), purpose);
    std::vector<FeeRow> rows;
    for (const auto& row : result) {
      FeeRow fee;
      fee.id = row[0].as<std::int64_t>();
      fee.fee.purpose = row[1].as<std::string>();
      if (!row[2].is_null()) fee.fee.modality = row[2].as<std::string>();
      fee.fee.amount_minor = row[3].as<std::int64_t>();
      fee.fee.currency = row[4].as<std::string>();
      fee.fee.effective_from = StoredDate(row[5]);
      fee.status = row[6].as<std::string>();
      rows.push_back(std::move(fee));
    }
    return rows;
  });
}

std::int64_t FeeAdmin::SetPrice(const PriceSetting& price, const archive::CivilDate& today,
                                bool allow_past, const std::string& actor) {
  const std::string effective = archive::FormatIsoDate(price.effective_from);
  if (!allow_past && archive::CompareDates(price.effective_from, today) < 0) {
    Refuse(
        fmt::format("--effective {} is before today ({}): the billing views would reprice "
                    "days already charged; give --allow-past if that is intended",
                    effective, archive::FormatIsoDate(today)));
  }
  return archive::sql::ReadWrite(
      database_, fmt::format("set the price of {}", price.item), [&](pqxx::work& transaction) {
        const auto existing = transaction.exec_params(
            "SELECT id FROM price_list WHERE item = $1 AND effective_from = $2::date", price.item,
            effective);
        if (!existing.empty()) {
          Refuse(
              fmt::format("--effective {}: price {} of {} already takes effect that day; "
                          "choose another day",
                          effective, existing[0][0].as<std::int64_t>(), price.item));
        }
        std::int64_t id = 0;
        try {
          id = transaction
                   .exec_params(
                       "INSERT INTO price_list (item, amount_minor, currency, "
                       "    effective_from, created_at) "
                       "VALUES ($1, $2, $3, $4::date, $5::timestamptz) RETURNING id",
                       price.item, price.amount_minor, price.currency, effective,
                       FormatUtcMicroseconds(Now()))[0][0]
                   .as<std::int64_t>();
        } catch (const pqxx::sql_error& error) {
          if (error.sqlstate() == kUniqueViolation) {
            Refuse(fmt::format("--effective {}: another price of {} was just set for that day",
                               effective, price.item));
          }
          throw;
        }
        archive::RecordAudit(
            transaction,
            archive::AuditEntry{actor, "price.set", std::nullopt, fmt::format("price {}", id),
                                fmt::format("{}: {} {} from {}", price.item, price.amount_minor,
                                            price.currency, effective),
                                ""});
        return id;
      });
}

std::vector<PriceRow> FeeAdmin::ListPrices(const archive::CivilDate& today) {
  return archive::sql::ReadOnly(database_, "list prices", [&](pqxx::read_transaction& transaction) {
    const auto result = transaction.exec_params(
        fmt::format("SELECT id, item, amount_minor, currency, effective_from::text, {} "
                    "  FROM price_list ORDER BY item, effective_from",
                    fmt::format(kStatusColumn, "item")),
        archive::FormatIsoDate(today));
    std::vector<PriceRow> rows;
    for (const auto& row : result) {
      PriceRow price;
      price.id = row[0].as<std::int64_t>();
      price.price.item = row[1].as<std::string>();
      price.price.amount_minor = row[2].as<std::int64_t>();
      price.price.currency = row[3].as<std::string>();
      price.price.effective_from = StoredDate(row[4]);
      price.status = row[5].as<std::string>();
      rows.push_back(std::move(price));
    }
    return rows;
  });
}

}  // namespace hokan::billing
