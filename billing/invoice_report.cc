#include "billing/invoice_report.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::billing {

Invoice ReadInvoice(archive::Database& database, const std::string& facility,
                    const BillingMonth& month) {
  // One snapshot: the lines and the totals agree.
  return archive::sql::ReadOnlySnapshot(
      database,
      fmt::format("read the invoice of facility '{}' for {}", facility, FormatBillingMonth(month)),
      [&](pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>& transaction) {
        archive::RequireFacilityId(transaction, facility, "--facility: ");
        Invoice invoice;
        invoice.facility = facility;
        invoice.month = month;
        const std::string month_text = FormatBillingMonth(month);
        for (const auto& row : transaction.exec_params(
                 "SELECT kind, description, quantity::text, unit_amount_minor, amount_minor, "
                 "       currency "
                 "  FROM billing.invoice_lines WHERE facility = $1 AND month = $2 "
                 " ORDER BY kind, description, unit_amount_minor",
                 facility, month_text)) {
          invoice.lines.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                                   row[2].as<std::string>(), row[3].as<std::int64_t>(),
                                   row[4].as<std::int64_t>(), row[5].as<std::string>()});
        }
        for (const auto& row :
             transaction.exec_params("SELECT currency, total_minor FROM billing.invoices "
                                     " WHERE facility = $1 AND month = $2 ORDER BY currency",
                                     facility, month_text)) {
          invoice.totals.push_back({row[0].as<std::string>(), row[1].as<std::int64_t>()});
        }
        return invoice;
      });
}

}  // namespace hokan::billing
