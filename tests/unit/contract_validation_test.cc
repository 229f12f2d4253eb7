// Contract terms as `hokan contract` validates them: required options,
// dependent options, dates, quotas, accounting points, change descriptions.

#include <catch2/catch.hpp>
#include <functional>

#include "archive/common/error.h"
#include "archive/index/contract_admin_terms.h"

namespace hokan::archive {
namespace {

ContractOptions MinimalAdd() {
  ContractOptions options;
  options.service_period = "annual";
  options.start = "2026-01-01";
  options.end = "2026-12-31";
  options.backup_timing = "on-receipt";
  options.data_kept = "all";
  options.quota = "500G";
  options.service_class = "economy";
  options.storage_period = "10y";
  return options;
}

// The message of the kInvalidInput error `options` get on top of `current`.
std::string RefusalOf(const ContractOptions& options,
                      const std::optional<ContractTerms>& current = std::nullopt) {
  try {
    ResolveContractTerms(current, options);
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kInvalidInput);
    return error.what();
  }
  return "<accepted>";
}

}  // namespace

TEST_CASE("a minimal contract gets the defaults", "[contract]") {
  const ContractTerms terms = ResolveContractTerms(std::nullopt, MinimalAdd());
  CHECK(terms.service_period == "annual");
  CHECK(terms.backup_timing == "on_receipt");
  CHECK(terms.quota_bytes == 500LL << 30);
  CHECK(terms.over_quota == "refuse");
  CHECK(terms.expiry_grace_days == 90);
  CHECK_FALSE(terms.nightly_at);
  CHECK_FALSE(terms.export_at);
  CHECK(terms.default_storage_period == "10y");
}

TEST_CASE("each bad option is refused with a message naming it", "[contract]") {
  struct Case {
    std::function<void(ContractOptions&)> change;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {[](ContractOptions& o) { o.end = "2025-12-31"; }, "--end 2025-12-31 is before --start"},
      {[](ContractOptions& o) { o.start = "2026-02-30"; }, "--start '2026-02-30'"},
      {[](ContractOptions& o) { o.start = "26-01-01"; }, "--start '26-01-01'"},
      {[](ContractOptions& o) { o.backup_timing = "nightly"; }, "--nightly-at HH:MM is required"},
      {[](ContractOptions& o) { o.nightly_at = "03:00"; }, "--nightly-at only goes with"},
      {[](ContractOptions& o) {
         o.backup_timing = "nightly";
         o.nightly_at = "24:00";
       },
       "--nightly-at '24:00'"},
      {[](ContractOptions& o) { o.exam_quiet_minutes = "30"; }, "--exam-quiet-minutes only"},
      {[](ContractOptions& o) {
         o.backup_timing = "per-exam";
         o.exam_quiet_minutes = "0";
       },
       "--exam-quiet-minutes '0'"},
      {[](ContractOptions& o) { o.data_kept = "per-modality"; }, "--modalities (e.g. CT,MR)"},
      {[](ContractOptions& o) { o.modalities = "CT"; }, "--modalities only goes with"},
      {[](ContractOptions& o) {
         o.data_kept = "per-modality";
         o.modalities = "CT,,MR";
       },
       "--modalities 'CT,,MR'"},
      {[](ContractOptions& o) { o.quota = "0"; }, "--quota '0' must be more than 0"},
      {[](ContractOptions& o) { o.quota = "-5G"; }, "--quota '-5G' must be more than 0"},
      {[](ContractOptions& o) { o.quota = "5X"; }, "--quota '5X' must be a byte count"},
      {[](ContractOptions& o) { o.quota = "9999999T"; }, "--quota '9999999T' is too large"},
      {[](ContractOptions& o) { o.service_period = "weekly"; },
       "--service-period 'weekly' is not one of annual, monthly"},
      {[](ContractOptions& o) { o.backup_timing = "hourly"; }, "--backup-timing 'hourly'"},
      {[](ContractOptions& o) { o.data_kept = "some"; }, "--data-kept 'some'"},
      {[](ContractOptions& o) { o.over_quota = "panic"; }, "--over-quota 'panic'"},
      {[](ContractOptions& o) { o.service_class = "gold"; }, "--service-class 'gold'"},
      {[](ContractOptions& o) { o.export_at = "02:00"; }, "--export-at only goes with"},
      {[](ContractOptions& o) { o.storage_period = "ten years"; }, "--storage-period: "},
      {[](ContractOptions& o) { o.grace_days = "-1"; }, "--grace-days '-1'"},
      {[](ContractOptions& o) { o.quota.reset(); }, "--quota is required"},
      {[](ContractOptions& o) { o.storage_period.reset(); }, "--storage-period is required"},
  };
  for (const auto& test : cases) {
    ContractOptions options = MinimalAdd();
    test.change(options);
    const std::string message = RefusalOf(options);
    INFO(message);
    CHECK_THAT(message, Catch::StartsWith(test.message_part.substr(0, 2)));
    CHECK_THAT(message, Catch::Contains(test.message_part));
  }
}

TEST_CASE("dependent values follow their switch", "[contract]") {
  ContractOptions options = MinimalAdd();
  options.backup_timing = "nightly";
  options.nightly_at = "03:30";
  options.service_class = "deluxe";
  options.data_kept = "per_modality";  // the stored spelling is accepted too
  options.modalities = "ct, MR,CT";
  const ContractTerms nightly = ResolveContractTerms(std::nullopt, options);
  CHECK(nightly.nightly_at == std::optional<std::string>("03:30"));
  CHECK(nightly.export_at == std::optional<std::string>(kDefaultExportAt));
  CHECK(nightly.kept_modalities == std::vector<std::string>{"CT", "MR"});

  SECTION("a change keeps what it does not touch") {
    ContractOptions change;
    change.quota = "1T";
    const ContractTerms changed = ResolveContractTerms(nightly, change);
    CHECK(changed.nightly_at == nightly.nightly_at);
    CHECK(changed.kept_modalities == nightly.kept_modalities);
    CHECK(changed.quota_bytes == 1LL << 40);
    CHECK(DescribeChanges(nightly, changed) ==
          std::vector<std::string>{
              "quota: 500 GiB (536870912000 bytes) -> 1 TiB (1099511627776 bytes)"});
  }
  SECTION("leaving a switch drops its values; entering takes defaults") {
    ContractOptions change;
    change.backup_timing = "per-exam";
    change.service_class = "economy";
    change.data_kept = "all";
    const ContractTerms changed = ResolveContractTerms(nightly, change);
    CHECK_FALSE(changed.nightly_at);
    CHECK_FALSE(changed.export_at);
    CHECK(changed.kept_modalities.empty());
    CHECK(changed.exam_quiet_minutes == kDefaultExamQuietMinutes);
    const auto changes = DescribeChanges(nightly, changed);
    CHECK(changes.size() == 7);
    CHECK(changes.front() == "backup_timing: nightly -> per-exam");
  }
  SECTION("a change may move the end before the start only with the start") {
    ContractOptions change;
    change.end = "2025-06-30";
    CHECK_THAT(RefusalOf(change, nightly), Catch::StartsWith("--end 2025-06-30 is before"));
    change.start = "2025-01-01";
    CHECK(ResolveContractTerms(nightly, change).ends_on == CivilDate{2025, 6, 30});
  }
}

TEST_CASE("accounting points: annual 10 per started year, monthly 1 per started month",
          "[contract]") {
  struct Case {
    std::string period, start, end;
    int periods, points;
  };
  const std::vector<Case> cases = {
      {"annual", "2026-01-01", "2026-12-31", 1, 10},
      {"annual", "2026-11-22", "2027-11-21", 1, 10},
      {"annual", "2026-11-22", "2027-11-22", 2, 20},
      {"annual", "2026-01-01", "2028-12-31", 3, 30},
      {"annual", "2026-01-01", "2026-01-01", 1, 10},
      {"monthly", "2026-01-01", "2026-01-31", 1, 1},
      {"monthly", "2026-01-31", "2026-02-27", 1, 1},
      {"monthly", "2026-01-01", "2026-12-31", 12, 12},
      {"monthly", "2026-01-15", "2026-03-15", 3, 3},
  };
  for (const auto& test : cases) {
    ContractOptions options = MinimalAdd();
    options.service_period = test.period;
    options.start = test.start;
    options.end = test.end;
    const auto points = PointsOf(ResolveContractTerms(std::nullopt, options));
    INFO(test.period << " " << test.start << ".." << test.end);
    CHECK(points.periods == test.periods);
    CHECK(points.points == test.points);
  }
}

TEST_CASE("byte counts and their human form", "[contract]") {
  CHECK(ParseByteCount("--quota", "1024") == 1024);
  CHECK(ParseByteCount("--quota", "3k") == 3072);
  CHECK(ParseByteCount("--quota", "2M") == 2LL << 20);
  CHECK(ParseByteCount("--quota", "8191T") == 8191LL << 40);
  CHECK(FormatBytes(0) == "0 B");
  CHECK(FormatBytes(1023) == "1023 B");
  CHECK(FormatBytes(1536) == "1.5 KiB");
  CHECK(FormatBytes(500LL << 30) == "500 GiB");
  CHECK(FormatBytes(-(2LL << 20)) == "-2 MiB");
}

TEST_CASE("calendar dates", "[contract]") {
  CHECK(ParseIsoDate("2028-02-29") == CivilDate{2028, 2, 29});
  CHECK_FALSE(ParseIsoDate("2027-02-29"));
  CHECK_FALSE(ParseIsoDate("2027-13-01"));
  CHECK_FALSE(ParseIsoDate("20270101"));
  CHECK_FALSE(ParseIsoDate("2027-1-01"));
  CHECK_FALSE(ParseIsoDate(" 2027-01-01"));
  CHECK(FormatIsoDate(CivilDate{2026, 3, 5}) == "2026-03-05");
  CHECK(CompareDates(CivilDate{2026, 3, 5}, CivilDate{2026, 3, 6}) < 0);
  CHECK(OptionSpelling("patient_opt_in") == "patient-opt-in");
}

}  // namespace hokan::archive
