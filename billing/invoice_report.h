#pragma once

// A facility's monthly invoice as the billing views compute it
// (billing.invoice_lines and billing.invoices, schema 011): what
// `hokan billing invoice` prints, the same figures billing staff read with
// psql.

#include <cstdint>
#include <string>
#include <vector>

#include "billing/admin_input.h"

namespace hokan::archive {
class Database;
}

namespace hokan::billing {

// One row of billing.invoice_lines.
struct InvoiceLine {
  std::string kind;  // exam_fee | contract | storage | quota_overage | offline_export
  std::string description;
  std::string quantity;  // as PostgreSQL prints the numeric: "3", "1.500000"
  std::int64_t unit_amount_minor = 0;
  std::int64_t amount_minor = 0;
  std::string currency;
};

// One row of billing.invoices (one per currency).
struct InvoiceTotal {
  std::string currency;
  std::int64_t total_minor = 0;
};

struct Invoice {
  std::string facility;
  BillingMonth month;
  std::vector<InvoiceLine> lines;    // by kind, then description
  std::vector<InvoiceTotal> totals;  // by currency; empty when nothing is charged
};

// Reads the invoice of `facility` for `month` in one read transaction (lines
// and totals agree). Throws hokan::Error(kInvalidInput) "--facility: unknown
// facility 'F'" for an unknown facility, hokan::Error(kDatabase) when
// PostgreSQL fails.
Invoice ReadInvoice(archive::Database& database, const std::string& facility,
                    const BillingMonth& month);

}  // namespace hokan::billing
