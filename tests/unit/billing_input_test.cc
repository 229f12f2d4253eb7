// What `hokan purpose`, `fee`, `price` and `billing` accept before touching
// the database (billing/admin_input.h) and how a purpose change is applied
// and described (billing/purpose_admin.h, pure parts).

#include <catch2/catch.hpp>

#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"
#include "billing/admin_input.h"
#include "billing/purpose_admin.h"

namespace hokan::billing {
namespace {

// The message of the kInvalidInput error `parse` throws; "" when it does not.
template <typename Parse>
std::string Refusal(Parse&& parse) {
  try {
    parse();
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kInvalidInput);
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("billing input: amounts and currencies", "[billing_input]") {
  CHECK(ParseAmountMinor("--amount", "0") == 0);
  CHECK(ParseAmountMinor("--amount", "1500") == 1500);
  CHECK(ParseAmountMinor("--amount", "9223372036854775807") == 9223372036854775807LL);
  CHECK(ParseAmountMinor("--amount", "007") == 7);
  CHECK_THAT(Refusal([] { ParseAmountMinor("--amount", "-5"); }),
             Catch::Contains("--amount '-5' is negative"));
  CHECK_THAT(Refusal([] { ParseAmountMinor("--amount", "12.50"); }),
             Catch::Contains("--amount '12.50' must be a whole number of minor units"));
  CHECK_THAT(Refusal([] { ParseAmountMinor("--amount", ""); }), Catch::Contains("--amount"));
  CHECK_THAT(Refusal([] { ParseAmountMinor("--amount", "9223372036854775808"); }),
             Catch::Contains("too large"));

  CHECK(ParseCurrency("--currency", "JPY") == "JPY");
  CHECK_THAT(Refusal([] { ParseCurrency("--currency", "jpy"); }),
             Catch::Contains("must be in capitals: JPY"));
  CHECK_THAT(Refusal([] { ParseCurrency("--currency", "YEN!"); }),
             Catch::Contains("--currency 'YEN!' is not an ISO 4217"));
  CHECK_THAT(Refusal([] { ParseCurrency("--currency", ""); }), Catch::Contains("--currency"));
}

TEST_CASE("billing input: days and months", "[billing_input]") {
  CHECK(archive::FormatIsoDate(ParseDay("--effective", "2026-02-28")) == "2026-02-28");
  CHECK_THAT(Refusal([] { ParseDay("--effective", "2026-02-30"); }),
             Catch::Contains("--effective '2026-02-30' is not a calendar date"));
  CHECK(ParseBillingMonth("--month", "2026-11") == BillingMonth{2026, 11});
  CHECK(FormatBillingMonth({2026, 1}) == "2026-01");
  for (const char* bad :
       {"2026-13", "2026-00", "2026-1", "26-11", "2026/11", "1999-12", "", "2026-11-01"}) {
    INFO(bad);
    CHECK_THAT(Refusal([&] { ParseBillingMonth("--month", bad); }),
               Catch::Contains("is not a month YYYY-MM"));
  }
  CHECK(DaysInMonth(2026, 2) == 28);
  CHECK(DaysInMonth(2028, 2) == 29);
  CHECK(DaysInMonth(2100, 2) == 28);
  CHECK(DaysInMonth(2000, 2) == 29);
  CHECK(DaysInMonth(2026, 11) == 30);
  CHECK(DaysInMonth(2026, 12) == 31);
}

TEST_CASE("billing input: purposes and ranges", "[billing_input]") {
  CHECK(ParsePurposeName("second-opinion") == "second-opinion");
  for (const char* bad :
       {"Diagnosis", "1st", "", "a b", "referral!", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    INFO(bad);
    CHECK_THAT(Refusal([&] { ParsePurposeName(bad); }), Catch::Contains("purpose name"));
  }
  CHECK(ParseAeTitle("--ae", "VIEWER_1") == "VIEWER_1");
  CHECK_THAT(Refusal([] { ParseAeTitle("--ae", "A_VERY_LONG_AE_TITLE"); }),
             Catch::Contains("--ae 'A_VERY_LONG_AE_TITLE' is not an AE title"));
  CHECK_THAT(Refusal([] { ParseAeTitle("--called-ae", "BAD\\AE"); }),
             Catch::Contains("--called-ae"));

  CHECK(ParseModalities("--modalities", "ct, MR,CT") == std::vector<std::string>{"CT", "MR"});
  CHECK(ParseModalities("--modalities", "*") == std::vector<std::string>{"*"});
  CHECK(ParseModalities("--modalities", "").empty());
  CHECK_THAT(Refusal([] { ParseModalities("--modalities", "CT,*"); }),
             Catch::Contains("'*' (every modality) stands alone"));
  CHECK_THAT(Refusal([] { ParseModalities("--modalities", "CT,,MR"); }),
             Catch::Contains("empty entry"));
  CHECK_THAT(Refusal([] { ParseModalities("--modalities", "C-T"); }),
             Catch::Contains("--modalities 'C-T' is not a modality code"));
  CHECK(ParseSopClassUids("--sop-classes", "1.2.840.10008.5.1.4.1.1.2") ==
        std::vector<std::string>{"1.2.840.10008.5.1.4.1.1.2"});
  CHECK_THAT(Refusal([] { ParseSopClassUids("--sop-classes", "1.2..3"); }),
             Catch::Contains("is not a SOP Class UID"));

  CHECK_THAT(Refusal([] { RequireRange("research", {}, {}); }),
             Catch::Contains("purpose 'research' has no range"));
  CHECK(Refusal([] { RequireRange("research", {"CT"}, {}); }).empty());
  CHECK(Refusal([] { RequireRange("research", {}, {"1.2.3"}); }).empty());

  CHECK(ParseImageLimit("--max-rows", "512") == 512);
  CHECK_FALSE(ParseImageLimit("--max-rows", "none"));
  CHECK_THAT(Refusal([] { ParseImageLimit("--max-rows", "8"); }),
             Catch::Contains("--max-rows '8' must be a whole number of pixels from 16 to 65535"));
  CHECK_THAT(Refusal([] { ParseImageLimit("--max-columns", "65536"); }),
             Catch::Contains("--max-columns"));
  CHECK(ParsePixelRights("lossy-only") == "lossy_only");
  CHECK_THAT(Refusal([] { ParsePixelRights("lossless"); }), Catch::Contains("--pixel-rights"));
  CHECK(ParseReportRights("both").may_store);
  CHECK(FormatReportRights(ParseReportRights("retrieve")) == "retrieve");
  CHECK_THAT(Refusal([] { ParseReportRights("all"); }), Catch::Contains("--reports 'all'"));
  CHECK(ParsePriceItem("storage_gb_month") == "storage_gb_month");
  CHECK_THAT(Refusal([] { ParsePriceItem("storage"); }),
             Catch::Contains("price item 'storage' is not one of"));
  CHECK_THAT(Refusal([] { ParseOutputFormat("json"); }), Catch::Contains("--format 'json'"));
}

TEST_CASE("purpose changes are applied, checked and described", "[billing_input]") {
  PurposeSettings referral;
  referral.name = "referral";
  referral.called_ae_title = "HOKAN_REF";
  referral.modalities = {"CT", "MR"};
  referral.max_rows = 512;
  referral.max_columns = 512;

  PurposeChange change;
  change.max_rows = std::optional<int>();  // --max-rows none
  change.reports = ReportRights{true, false};
  const PurposeSettings changed = ApplyPurposeChange(referral, change);
  CHECK_FALSE(changed.max_rows);
  CHECK(changed.max_columns == 512);
  CHECK(DescribePurposeChanges(referral, changed) ==
        std::vector<std::string>{"max rows: 512 -> none", "reports: none -> retrieve"});
  CHECK(DescribePurposeChanges(referral, referral).empty());

  PurposeChange empties_range;
  empties_range.modalities = std::vector<std::string>();
  CHECK_THAT(Refusal([&] { ApplyPurposeChange(referral, empties_range); }),
             Catch::Contains("purpose 'referral' has no range"));
  empties_range.sop_class_uids = std::vector<std::string>{"1.2.840.10008.5.1.4.1.1.2"};
  CHECK(ApplyPurposeChange(referral, empties_range).modalities.empty());
}

}  // namespace hokan::billing
