// Billing administration against a real archive and database: the
// `hokan purpose`, `fee`, `price` and `billing invoice` commands (exit
// codes, output, rows, and nothing written when they refuse), the billing
// views (fee events recorded as the DICOM side records them appear in
// billing.fee_lines; an invoice is their sum plus contract, storage,
// overage and export charges; contract charges equal the C++ arithmetic),
// the README's psql queries, and the daily usage samples of hokan-archive.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/integration/archive_process.h"
#include "tests/unit/contract_charge_cases.h"

namespace hokan::integration {
namespace {

constexpr const char* kNow = "2026-11-22T12:00:00Z";

// Facility "clinic" (store AE CLINIC_MODALITY, viewer CLINIC_VIEWER) without
// the provisional contract; the clock of the archive and of `hokan` is the
// test's.
ArchiveOptions BillingOptions() {
  ArchiveOptions options;
  options.facilities = {{"clinic", {"CLINIC_MODALITY"}, {}, {"CLINIC_VIEWER"}, false}};
  options.controlled_clock = true;
  options.initial_clock = kNow;
  return options;
}

void RequireAdmin(const ArchiveProcess& archive, const std::vector<std::string>& arguments) {
  const ToolResult result = Admin(archive, arguments);
  INFO(result.Describe());
  REQUIRE(result.exit_code == 0);
}

// The billing rows a refused command must leave as they were.
std::string Snapshot(ArchiveProcess& archive) {
  return archive.sql().Value(
      "SELECT (SELECT count(*) FROM purposes) || '/' || "
      "       (SELECT count(*) FROM purpose_grants) || '/' || "
      "       (SELECT count(*) FROM fee_schedules) || '/' || "
      "       (SELECT count(*) FROM price_list) || '/' || "
      "       (SELECT count(*) FROM audit_log) || '/' || "
      "       (SELECT coalesce(string_agg(name || called_ae_title || array_to_string(modalities, ' "
      "')"
      "               || coalesce(max_rows::text, '-') || may_retrieve_reports, ','), '') "
      "          FROM purposes)");
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Purposes, fees and prices for the invoice tests: prices are set on
// 2025-12-01 to take effect on 2026-01-01 (storage changes on 2026-11-16),
// then the clock moves to kNow.
void SetUpPricesAndPurposes(ArchiveProcess& archive) {
  archive.SetClock("2025-12-01T00:00:00Z");
  // clang-format off
  const std::vector<std::vector<std::string>> commands = {
      {"purpose", "add", "diagnosis", "--called-ae", "HOKAN_DX", "--modalities", "*",
       "--reports", "both"},
      {"purpose", "add", "referral", "--called-ae", "HOKAN_REF", "--modalities", "CT,MR",
       "--max-rows", "512", "--max-columns", "512"},
      {"purpose", "add", "research", "--called-ae", "HOKAN_RES", "--modalities", "CT",
       "--pixel-rights", "lossy_only"},
      {"fee", "add", "--purpose", "diagnosis", "--amount", "500", "--currency", "JPY",
       "--effective", "2026-01-01"},
      {"fee", "add", "--purpose", "referral", "--amount", "1500", "--currency", "JPY",
       "--effective", "2026-01-01"},
      {"fee", "add", "--purpose", "referral", "--modality", "CT", "--amount", "2000",
       "--currency", "JPY", "--effective", "2026-01-01"},
      {"price", "set", "accounting_point", "--amount", "1000", "--currency", "JPY",
       "--effective", "2026-01-01"},
      {"price", "set", "storage_gb_month", "--amount", "100", "--currency", "JPY",
       "--effective", "2026-01-01"},
      {"price", "set", "storage_gb_month", "--amount", "120", "--currency", "JPY",
       "--effective", "2026-11-16"},
      {"price", "set", "quota_overage_gb_month", "--amount", "300", "--currency", "JPY",
       "--effective", "2026-01-01"},
      {"price", "set", "offline_export", "--amount", "5000", "--currency", "JPY",
       "--effective", "2026-01-01"},
  };
  // clang-format on
  for (const auto& command : commands) RequireAdmin(archive, command);
  archive.SetClock(kNow);
}

// What November 2026 holds for the clinic, written as the other parts of
// the archive write it: a monthly contract (its month from 2026-11-15 is
// charged in November), fee events as FeeRecorder records them (one in
// October, one free), daily usage samples of 2 GiB against a 1 GiB quota,
// and two deluxe exports (one in October).
void SetUpNovember(ArchiveProcess& archive) {
  Sql& sql = archive.sql();
  sql.Execute(
      "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
      "    data_kept, quota_bytes, service_class, export_at, default_storage_period, created_by, "
      "    created_at) "
      "SELECT id, 'monthly', '2026-10-15', '2027-10-14', 'on_receipt', 'all', 1073741824, "
      "       'deluxe', '02:00', '10y', 'test', '2026-10-01' "
      "  FROM facilities WHERE name = 'clinic'");
  // (purpose, study, day, modality, fee line's amount)
  const std::vector<std::vector<std::string>> events = {
      {"referral", "1.2.3.1", "2026-11-02", "CT", "2000"},
      {"referral", "1.2.3.2", "2026-11-03", "MR", "1500"},
      {"diagnosis", "1.2.3.1", "2026-11-03", "CT", "500"},
      {"research", "1.2.3.3", "2026-11-04", "CT", "0"},
      {"referral", "1.2.3.9", "2026-10-30", "CT", "2000"},
  };
  for (const auto& event : events) {
    sql.Execute(
        // Charged to the caller's facility (here also the studies' owner).
        "INSERT INTO fee_events (facility_id, owner_facility_id, study_instance_uid, "
        "    purpose_id, billing_day, modality, fee_schedule_id, amount_minor, currency, "
        "    calling_ae, instances_delivered, instances_failed, first_delivered_at, "
        "    last_delivered_at) "
        "SELECT f.id, f.id, $2, p.id, $3::date, $4, "
        "       (SELECT s.id FROM fee_schedules s WHERE s.purpose_id = p.id "
        "          AND (s.modality = $4 OR s.modality IS NULL) "
        "        ORDER BY (s.modality IS NULL), s.effective_from DESC LIMIT 1), "
        "       $5::bigint, 'JPY', 'CLINIC_VIEWER', 3, 1, $3::timestamptz, $3::timestamptz "
        "  FROM facilities f, purposes p WHERE f.name = 'clinic' AND p.name = $1",
        event);
  }
  // The test's samples replace the one the archive took today.
  sql.Execute("DELETE FROM usage_samples");
  sql.Execute(
      "INSERT INTO usage_samples (facility_id, sample_day, used_bytes, quota_bytes, taken_at) "
      "SELECT f.id, d::date, 2147483648, 1073741824, d "
      "  FROM facilities f, generate_series('2026-11-01'::date, '2026-11-30', '1 day') d "
      " WHERE f.name = 'clinic' "
      // The archive's daily job may take today's sample between the two statements.
      "ON CONFLICT (facility_id, sample_day) DO UPDATE SET used_bytes = excluded.used_bytes, "
      "  quota_bytes = excluded.quota_bytes");
  for (const char* cut_off :
       {"2026-10-31T02:00:00Z", "2026-11-05T02:00:00Z", "2026-11-06T02:00:00Z"}) {
    sql.Execute(
        "INSERT INTO offline_exports (facility_id, folder, cut_off, studies, instances, bytes, "
        "    started_at, finished_at, node, actor) "
        "SELECT id, '/exports/' || $1, $1::timestamptz, 1, 1, 100, $1::timestamptz, "
        "       $1::timestamptz, 'node', 'test' FROM facilities WHERE name = 'clinic'",
        {cut_off});
  }
}

// The Billing section of the README: README.md once merged, else the file
// HOKAN_BILLING_README names (the section as written before the merge).
std::string BillingReadme() {
  const std::string readme = ReadFileBytes(SourceDir() / "README.md");
  const auto start = readme.find("\n## Billing");
  if (start != std::string::npos) {
    const auto end = readme.find("\n## ", start + 1);
    return readme.substr(start, end == std::string::npos ? end : end - start);
  }
  const char* path = std::getenv("HOKAN_BILLING_README");
  if (path == nullptr || *path == '\0') {
    FAIL("README.md has no '## Billing' section; set HOKAN_BILLING_README to the section's file");
  }
  return ReadFileBytes(path);
}

struct DocumentedQuery {
  std::string sql;
  std::vector<std::string> columns;
};

// Each ```sql block of `text` with the "Columns: `a`, `b`" line after it.
std::vector<DocumentedQuery> DocumentedQueries(const std::string& text) {
  std::vector<DocumentedQuery> queries;
  std::istringstream lines(text);
  std::string line;
  bool in_sql = false;
  DocumentedQuery current;
  while (std::getline(lines, line)) {
    if (!in_sql && line.rfind("```sql", 0) == 0) {
      in_sql = true;
      current = {};
    } else if (in_sql && line.rfind("```", 0) == 0) {
      in_sql = false;
      queries.push_back(current);
    } else if (in_sql) {
      current.sql += line + "\n";
    } else if (line.rfind("Columns:", 0) == 0 && !queries.empty() &&
               queries.back().columns.empty()) {
      std::string::size_type at = 0;
      while ((at = line.find('`', at)) != std::string::npos) {
        const auto end = line.find('`', at + 1);
        queries.back().columns.push_back(line.substr(at + 1, end - at - 1));
        at = end + 1;
      }
    }
  }
  return queries;
}

}  // namespace

TEST_CASE("purposes, fees and prices are managed with hokan; refusals write nothing", "[billing]") {
  ArchiveProcess archive(BillingOptions());
  archive.SetClock(kNow);
  RequireAdmin(archive, {"purpose", "add", "referral", "--called-ae", "HOKAN_REF", "--modalities",
                         "ct,MR", "--max-rows", "512", "--max-columns", "512", "--description",
                         "to another hospital", "--by", "alice"});
  CHECK(archive.sql().Value("SELECT called_ae_title || ' ' || array_to_string(modalities, ',') "
                            "       || ' ' || max_rows || 'x' || max_columns || ' ' || "
                            "       pixel_rights || ' ' || may_retrieve_reports "
                            "  FROM purposes WHERE name = 'referral'") ==
        "HOKAN_REF CT,MR 512x512 original false");
  RequireAdmin(archive, {"fee", "add", "--purpose", "referral", "--amount", "1500", "--currency",
                         "JPY", "--effective", "2026-12-01"});
  RequireAdmin(archive, {"price", "set", "accounting_point", "--amount", "1000", "--currency",
                         "JPY", "--effective", "2026-12-01"});

  SECTION("bad input exits 2, says what is wrong and writes nothing") {
    const std::string before = Snapshot(archive);
    // clang-format off
    const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
        {{"purpose", "add", "research", "--called-ae", "HOKAN_RES"},
         "purpose 'research' has no range"},
        {{"purpose", "add", "research", "--called-ae", "HOKAN_RES", "--modalities", ""},
         "purpose 'research' has no range"},
        {{"purpose", "add", "Research", "--called-ae", "HOKAN_RES", "--modalities", "CT"},
         "purpose name 'Research'"},
        {{"purpose", "add", "research", "--modalities", "CT"}, "needs --called-ae"},
        {{"purpose", "add", "research", "--called-ae", "HOKAN_REF", "--modalities", "CT"},
         "--called-ae 'HOKAN_REF' already answers for purpose 'referral'"},
        {{"purpose", "add", "referral", "--called-ae", "HOKAN_R2", "--modalities", "CT"},
         "purpose 'referral' exists"},
        {{"purpose", "add", "research", "--called-ae", "HOKAN_RES", "--modalities", "CT,*"},
         "stands alone"},
        {{"purpose", "add", "research", "--called-ae", "HOKAN_RES", "--modalities", "CT",
          "--max-rows", "8"}, "--max-rows '8'"},
        {{"purpose", "add", "research", "--called-ae", "HOKAN_RES", "--modalities", "CT",
          "--reports", "all"}, "--reports 'all'"},
        {{"purpose", "change", "referral", "--modalities", ""}, "purpose 'referral' has no range"},
        {{"purpose", "change", "referral", "--max-rows", "512"}, "change nothing"},
        {{"purpose", "change", "nothing", "--max-rows", "256"}, "unknown purpose 'nothing'"},
        {{"purpose", "grant", "referral", "--ae", "STRANGER"}, "--ae 'STRANGER' is not an AE title the archive knows"},
        {{"purpose", "grant", "nothing", "--ae", "CLINIC_VIEWER"}, "unknown purpose 'nothing'"},
        {{"purpose", "revoke", "referral", "--ae", "CLINIC_VIEWER"}, "has no grant of purpose 'referral'"},
        {{"purpose", "rename", "referral"}, "unknown purpose action 'rename'"},
        {{"fee", "add", "--purpose", "referral", "--amount", "-100", "--currency", "JPY",
          "--effective", "2026-12-01"}, "--amount '-100' is negative"},
        {{"fee", "add", "--purpose", "referral", "--amount", "100", "--effective", "2026-12-01"},
         "needs --currency"},
        {{"fee", "add", "--purpose", "referral", "--amount", "100", "--currency", "yen",
          "--effective", "2026-12-01"}, "--currency 'yen'"},
        {{"fee", "add", "--purpose", "referral", "--amount", "100", "--currency", "jpy",
          "--effective", "2026-12-01"}, "must be in capitals: JPY"},
        {{"fee", "add", "--purpose", "nothing", "--amount", "100", "--currency", "JPY",
          "--effective", "2026-12-01"}, "unknown purpose 'nothing'"},
        {{"fee", "add", "--purpose", "referral", "--amount", "100", "--currency", "JPY",
          "--effective", "2026-12-01"}, "already takes effect that day"},
        {{"fee", "add", "--purpose", "referral", "--amount", "1.5", "--currency", "JPY",
          "--effective", "2026-12-02"}, "whole number of minor units"},
        {{"fee", "add", "--purpose", "referral", "--amount", "100", "--currency", "JPY",
          "--effective", "2026-02-30"}, "--effective '2026-02-30'"},
        {{"fee", "list", "--purpose", "nothing"}, "unknown purpose 'nothing'"},
        {{"price", "set", "storage", "--amount", "100", "--currency", "JPY",
          "--effective", "2026-12-01"}, "price item 'storage'"},
        {{"price", "set", "storage_gb_month", "--amount", "-1", "--currency", "JPY",
          "--effective", "2026-12-01"}, "negative"},
        {{"price", "set", "storage_gb_month", "--amount", "100", "--effective", "2026-12-01"},
         "needs --currency"},
        {{"price", "set", "storage_gb_month", "--amount", "100", "--currency", "JPY",
          "--effective", "2026-11-01"}, "--effective 2026-11-01 is before today (2026-11-22)"},
        {{"price", "set", "accounting_point", "--amount", "100", "--currency", "JPY",
          "--effective", "2026-12-01"}, "already takes effect that day"},
        {{"billing", "invoice", "--facility", "nowhere", "--month", "2026-11"},
         "unknown facility 'nowhere'"},
        {{"billing", "invoice", "--facility", "clinic", "--month", "2026-13"},
         "--month '2026-13' is not a month YYYY-MM"},
        {{"billing", "invoice", "--facility", "clinic", "--month", "November"},
         "--month 'November'"},
        {{"billing", "invoice", "--month", "2026-11"}, "needs --facility"},
        {{"billing", "invoice", "--facility", "clinic", "--month", "2026-11", "--format", "pdf"},
         "--format 'pdf'"},
        {{"billing", "report"}, "unknown billing action 'report'"},
    };
    // clang-format on
    for (const auto& [arguments, message] : refused) {
      const ToolResult result = Admin(archive, arguments);
      INFO(result.Describe());
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.output, Catch::Contains(message));
    }
    CHECK(Snapshot(archive) == before);
  }

  SECTION("change, grant, revoke and list, each with its audit row") {
    const ToolResult changed = Admin(archive, {"purpose", "change", "referral", "--max-rows",
                                               "none", "--reports", "retrieve", "--by", "bob"});
    INFO(changed.Describe());
    REQUIRE(changed.exit_code == 0);
    CHECK(archive.sql().Value("SELECT coalesce(max_rows::text, 'none') || ' ' || max_columns || "
                              "       ' ' || may_retrieve_reports FROM purposes") ==
          "none 512 true");
    RequireAdmin(archive, {"purpose", "grant", "referral", "--ae", "CLINIC_VIEWER"});
    CHECK(archive.sql().Count("SELECT count(*) FROM purpose_grants WHERE ae_title = "
                              "'CLINIC_VIEWER'") == 1);
    const ToolResult listed = Admin(archive, {"purpose", "list", "--format", "csv"});
    INFO(listed.Describe());
    CHECK_THAT(listed.output,
               Catch::Contains("referral,HOKAN_REF,CT MR,,,512,original,retrieve,CLINIC_VIEWER@clinic,"
                               "to another hospital"));
    const ToolResult table = Admin(archive, {"purpose", "list"});
    CHECK_THAT(table.output, Catch::Contains("CLINIC_VIEWER"));
    RequireAdmin(archive, {"purpose", "revoke", "referral", "--ae", "CLINIC_VIEWER"});
    CHECK(archive.sql().Count("SELECT count(*) FROM purpose_grants") == 0);
    CHECK(archive.sql().Value("SELECT string_agg(action, ' ' ORDER BY id) FROM audit_log "
                              " WHERE action LIKE 'purpose.%'") ==
          "purpose.add purpose.change purpose.grant purpose.revoke");
    CHECK(archive.sql().Value("SELECT string_agg(actor, ' ' ORDER BY id) FROM audit_log "
                              " WHERE action IN ('purpose.add', 'purpose.change')") == "alice bob");
    CHECK(archive.sql().Value("SELECT detail FROM audit_log WHERE action = 'purpose.change'") ==
          "max rows: 512 -> none; reports: none -> retrieve");
  }

  SECTION("fees and prices list with their status; a new one never rewrites an old one") {
    RequireAdmin(archive, {"fee", "add", "--purpose", "referral", "--modality", "CT", "--amount",
                           "2000", "--currency", "JPY", "--effective", "2027-01-01"});
    RequireAdmin(archive, {"fee", "add", "--purpose", "referral", "--amount", "1200", "--currency",
                           "JPY", "--effective", "2026-01-01"});
    const ToolResult fees = Admin(archive, {"fee", "list", "--purpose", "referral"});
    INFO(fees.Describe());
    REQUIRE(fees.exit_code == 0);
    CHECK_THAT(fees.output, Catch::Contains("1200 JPY      2026-01-01 in force"));
    CHECK_THAT(fees.output, Catch::Contains("1500 JPY      2026-12-01 future"));
    CHECK_THAT(fees.output, Catch::Contains("2000 JPY      2027-01-01 future"));
    RequireAdmin(archive, {"price", "set", "accounting_point", "--amount", "900", "--currency",
                           "JPY", "--effective", "2026-01-01", "--allow-past"});
    const ToolResult prices = Admin(archive, {"price", "list"});
    CHECK_THAT(prices.output, Catch::Contains(" 900 JPY      2026-01-01 in force"));
    CHECK_THAT(prices.output, Catch::Contains("1000 JPY      2026-12-01 future"));
    CHECK(archive.sql().Count("SELECT count(*) FROM audit_log WHERE action IN ('fee.add', "
                              "'price.set')") == 5);
  }
}

TEST_CASE("fee events, contracts, storage, overage and exports make the invoice", "[billing]") {
  ArchiveProcess archive(BillingOptions());
  SetUpPricesAndPurposes(archive);
  SetUpNovember(archive);
  Sql& sql = archive.sql();

  // Every fee event is a fee line, with its facility, purpose and counts.
  CHECK(sql.Count("SELECT count(*) FROM billing.fee_lines") == 5);
  CHECK(sql.Value("SELECT facility || ' ' || purpose || ' ' || modality || ' ' || billing_day "
                  "       || ' ' || month || ' ' || amount_minor || ' ' || currency || ' ' || "
                  "       instances_delivered || '/' || instances_failed "
                  "  FROM billing.fee_lines WHERE study_instance_uid = '1.2.3.2'") ==
        "clinic referral MR 2026-11-03 2026-11 1500 JPY 3/1");

  // November: exam fees 2000 + 1500 + 500 (the free one has no line); the
  // monthly contract's month from 11-15: 1 point x 1000; storage 15 days
  // of 2 GiB at 100 and 15 at 120 (1 GB-month each); 1 GiB over quota all
  // month at 300; two exports at 5000.
  const std::int64_t exam_fees = 4000, contract = 1000, storage = 100 + 120, overage = 300,
                     exports = 10000;
  const std::int64_t total = sql.Count(
      "SELECT total_minor FROM billing.invoices WHERE facility = 'clinic' AND month = '2026-11'");
  CHECK(total == exam_fees + contract + storage + overage + exports);
  // The invoice is the sum of the fee events plus the other charges, as the
  // views compute them.
  CHECK(total == sql.Count("SELECT sum(amount_minor) FROM billing.fee_lines "
                           " WHERE facility = 'clinic' AND month = '2026-11'") +
                     sql.Count("SELECT sum(amount_minor) FROM billing.contract_charges "
                               " WHERE facility = 'clinic' AND month = '2026-11'") +
                     sql.Count("SELECT sum(amount_minor) FROM billing.invoice_lines "
                               " WHERE facility = 'clinic' AND month = '2026-11' "
                               "   AND kind IN ('storage', 'quota_overage', 'offline_export')"));
  CHECK(sql.Value("SELECT string_agg(kind || ' ' || quantity || ' x ' || unit_amount_minor || "
                  "       ' = ' || amount_minor, '; ' ORDER BY kind, unit_amount_minor) "
                  "  FROM billing.invoice_lines WHERE facility = 'clinic' AND month = '2026-11'") ==
        "contract 1 x 1000 = 1000; exam_fee 1 x 500 = 500; exam_fee 1 x 1500 = 1500; "
        "exam_fee 1 x 2000 = 2000; offline_export 2 x 5000 = 10000; "
        "quota_overage 1.000000 x 300 = 300; storage 1.000000 x 100 = 100; "
        "storage 1.000000 x 120 = 120");
  // October: the contract's first month, one exam, one export.
  CHECK(sql.Count("SELECT total_minor FROM billing.invoices "
                  " WHERE facility = 'clinic' AND month = '2026-10'") == 1000 + 2000 + 5000);
  CHECK(sql.Value("SELECT gb_months || ' ' || overage_gb_months || ' ' || days_sampled || ' ' "
                  "       || peak_used_bytes FROM billing.usage_monthly "
                  " WHERE facility = 'clinic' AND month = '2026-11'") ==
        "2.000000 1.000000 30 2147483648");
  CHECK(
      sql.Value("SELECT string_agg(purpose || ':' || exams || ':' || total_minor, ' ' "
                "       ORDER BY purpose) FROM billing.fees_by_purpose WHERE month = '2026-11'") ==
      "diagnosis:1:500 referral:2:3500 research:1:0");
  CHECK(sql.Value("SELECT string_agg(modality || ':' || exams || ':' || total_minor, ' ' "
                  "       ORDER BY modality) FROM billing.fees_by_modality "
                  " WHERE month = '2026-11'") == "CT:3:2500 MR:1:1500");

  SECTION("the invoice command prints the view's lines and total") {
    const ToolResult csv = Admin(archive, {"billing", "invoice", "--facility", "clinic", "--month",
                                           "2026-11", "--format", "csv"});
    INFO(csv.Describe());
    REQUIRE(csv.exit_code == 0);
    std::string expected =
        "facility,month,kind,description,quantity,unit_amount_minor,amount_minor,currency\n";
    for (const auto& row :
         sql.Query("SELECT facility, month, kind, description, quantity::text, unit_amount_minor, "
                   "       amount_minor, currency FROM billing.invoice_lines "
                   " WHERE facility = 'clinic' AND month = '2026-11' "
                   " ORDER BY kind, description, unit_amount_minor")) {
      std::string line;
      for (const auto& field : row) line += (line.empty() ? "" : ",") + CsvField(field.value());
      expected += line + "\n";
    }
    expected += "clinic,2026-11,total,,,,15520,JPY\n";
    CHECK(csv.output == expected);

    const ToolResult table =
        Admin(archive, {"billing", "invoice", "--facility", "clinic", "--month", "2026-11"});
    INFO(table.Describe());
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.output, Catch::Contains("invoice of facility clinic for 2026-11"));
    CHECK_THAT(table.output, Catch::Contains("exam fee: purpose referral, modality CT"));
    CHECK_THAT(table.output, Catch::Contains("monthly contract"));
    CHECK(table.output.find("15520 JPY") != std::string::npos);

    const ToolResult empty =
        Admin(archive, {"billing", "invoice", "--facility", "clinic", "--month", "2026-09"});
    CHECK(empty.exit_code == 0);
    CHECK_THAT(empty.output, Catch::Contains("no charges"));
  }

  SECTION("later fee and price changes leave November as it was") {
    const std::string before = sql.Value(
        "SELECT string_agg(kind || description || amount_minor, ';' ORDER BY kind, description, "
        "amount_minor) FROM billing.invoice_lines WHERE month = '2026-11'");
    // A fee backdated into November applies to events recorded from now on.
    RequireAdmin(archive, {"fee", "add", "--purpose", "referral", "--amount", "9999", "--currency",
                           "JPY", "--effective", "2026-11-01"});
    RequireAdmin(archive, {"price", "set", "storage_gb_month", "--amount", "999", "--currency",
                           "JPY", "--effective", "2026-12-01"});
    RequireAdmin(archive, {"price", "set", "accounting_point", "--amount", "999", "--currency",
                           "JPY", "--effective", "2026-12-01"});
    CHECK(sql.Value("SELECT string_agg(kind || description || amount_minor, ';' ORDER BY kind, "
                    "description, amount_minor) FROM billing.invoice_lines "
                    " WHERE month = '2026-11'") == before);
    // December's contract month is charged at the new rate.
    CHECK(sql.Count("SELECT amount_minor FROM billing.contract_charges "
                    " WHERE month = '2026-12'") == 999);
  }
}

TEST_CASE("billing.contract_charges gives the figures of the C++ arithmetic", "[billing]") {
  ArchiveProcess archive(BillingOptions());
  Sql& sql = archive.sql();
  for (const auto& [day, amount] : testing::kContractCasePointPrices) {
    sql.Execute(
        "INSERT INTO price_list (item, amount_minor, currency, effective_from, created_at) "
        "VALUES ('accounting_point', $1::bigint, 'JPY', $2::date, $3)",
        {std::to_string(amount), day, kNow});
  }
  int number = 0;
  for (const auto& example : testing::kContractChargeCases) {
    INFO(example.name);
    const std::string facility = "case" + std::to_string(++number);
    sql.Execute("INSERT INTO facilities (name, created_at) VALUES ($1, $2)", {facility, kNow});
    sql.Execute(
        "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
        "    data_kept, quota_bytes, service_class, default_storage_period, created_by, "
        "    created_at) "
        "SELECT id, $2, $3::date, $4::date, 'on_receipt', 'all', 1073741824, 'economy', '10y', "
        "       'test', $5 FROM facilities WHERE name = $1",
        {facility, example.service_period, example.starts_on, example.ends_on, kNow});
    CHECK(sql.Count("SELECT sum(points) FROM billing.contract_charges WHERE facility = $1",
                    {facility}) == example.points);
    CHECK(sql.Count("SELECT coalesce(sum(amount_minor), 0) FROM billing.contract_charges "
                    " WHERE facility = $1",
                    {facility}) == example.total_minor);
    std::string expected;
    for (const auto& [month, amount] : example.by_month) {
      expected += (expected.empty() ? "" : " ") + std::string(month) + ":" + std::to_string(amount);
    }
    CHECK(sql.Value("SELECT string_agg(month || ':' || total_minor, ' ' ORDER BY month) "
                    "  FROM billing.invoices WHERE facility = $1",
                    {facility}) == expected);
  }
}

TEST_CASE("the README's billing queries run in psql and return the documented columns",
          "[billing]") {
  ArchiveProcess archive(BillingOptions());
  SetUpPricesAndPurposes(archive);
  SetUpNovember(archive);
  const auto queries = DocumentedQueries(BillingReadme());
  REQUIRE(queries.size() >= 6);
  for (const auto& query : queries) {
    INFO(query.sql);
    REQUIRE_FALSE(query.columns.empty());
    const ToolResult result = RunTool(
        {"psql", archive.database_url(), "-X", "-v", "ON_ERROR_STOP=1", "--csv", "-c", query.sql});
    INFO(result.Describe());
    REQUIRE(result.exit_code == 0);
    std::string header;
    for (const auto& column : query.columns) header += (header.empty() ? "" : ",") + column;
    CHECK(result.output.substr(0, result.output.find('\n')) == header);
    CHECK(std::count(result.output.begin(), result.output.end(), '\n') >= 2);  // rows, too
  }
}

TEST_CASE("hokan-archive takes one usage sample per facility and UTC day", "[billing]") {
  ArchiveOptions options = SingleFacilityOptions();
  options.controlled_clock = true;
  // From the start: a sample scheduled on the system clock's day would
  // only be due at the system clock's time.
  options.initial_clock = kNow;
  options.extra_archive_settings = {"job_poll_milliseconds = 100"};
  ArchiveProcess archive(options);
  Sql& sql = archive.sql();
  const auto sampled = [&](const std::string& day) {
    return sql.Count("SELECT count(*) FROM usage_samples WHERE sample_day = $1::date", {day}) == 1;
  };
  REQUIRE(WaitUntil([&] { return sampled("2026-11-22"); }, 30s));

  const ToolResult stored = archive.StoreScu(
      "IT_MODALITY", {}, {(PydicomDataDir() / "test_files" / "CT_small.dcm").string()});
  INFO(stored.Describe());
  REQUIRE(stored.exit_code == 0);
  const std::int64_t used = sql.Count("SELECT used_bytes FROM facility_usage");
  REQUIRE(used > 0);

  archive.SetClock("2026-11-23T00:05:00Z");
  REQUIRE(WaitUntil([&] { return sampled("2026-11-23"); }, 30s));
  CHECK(sql.Count("SELECT used_bytes FROM usage_samples WHERE sample_day = '2026-11-23'") == used);
  // The quota of the contract in force that day (the provisional one).
  CHECK(sql.Value("SELECT s.quota_bytes = c.quota_bytes FROM usage_samples s "
                  "  JOIN contracts c ON c.facility_id = s.facility_id "
                  " WHERE s.sample_day = '2026-11-23'") == "t");
  // Once per day: the first day's sample stays as taken, one job per day.
  CHECK(sql.Count("SELECT count(*) FROM usage_samples") == 2);
  CHECK(sql.Count("SELECT count(*) FROM jobs WHERE kind = 'usage-sample'") == 2);
  CHECK(sql.Count("SELECT used_bytes FROM usage_samples WHERE sample_day = '2026-11-22'") < used);
  CHECK(sql.Count("SELECT count(*) FROM billing.usage_monthly WHERE month = '2026-11'") == 1);
}

}  // namespace hokan::integration
