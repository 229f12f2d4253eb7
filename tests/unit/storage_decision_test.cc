// DecideStorage: contract data_kept modes, rule conditions, order and
// outcomes (pure; no database).

#include <catch2/catch.hpp>

#include <functional>

#include "archive/common/error.h"
#include "archive/rules/storage_decision.h"

namespace hokan::archive {
namespace {

TimePoint Utc(const std::string &text) { return *ParseUtc(text); }

StorageContract Contract(const std::string &data_kept = "all") {
  StorageContract contract;
  contract.id = 7;
  contract.service_period = "annual";
  contract.starts_on = {2026, 1, 1};
  contract.ends_on = {2026, 12, 31};
  contract.data_kept = data_kept;
  contract.quota_bytes = 1 << 30;
  contract.over_quota = "refuse";
  contract.service_class = "economy";
  contract.default_storage_period = ParseStoragePeriod("5y");
  return contract;
}

// A CT chest of a patient born 1970-01-01, studied 2020-01-15, received now.
IngestFacts Facts() {
  IngestFacts facts;
  facts.calling_ae = "CT_SCANNER";
  facts.patient_id = "P-1";
  facts.modality = "CT";
  facts.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  facts.body_part = "CHEST";
  facts.study_description = "Thorax routine";
  facts.study_date = "20200115";
  facts.patient_birth_date = "19700101";
  facts.received_at = Utc("2026-11-22T10:00:00Z");
  return facts;
}

StorageRule Accept(std::int64_t id, const std::string &name,
                   const std::string &period = "") {
  StorageRule rule;
  rule.id = id;
  rule.name = name;
  rule.accept = true;
  if (!period.empty())
    rule.storage_period = ParseStoragePeriod(period);
  return rule;
}

StorageRule Reject(std::int64_t id, const std::string &name,
                   std::uint16_t status = kRefusedNotAuthorized) {
  StorageRule rule;
  rule.id = id;
  rule.name = name;
  rule.accept = false;
  rule.reject_status = status;
  return rule;
}

std::string Expiry(const StorageDecision &decision) {
  return decision.expires_at ? FormatUtc(*decision.expires_at) : "never";
}

} // namespace

TEST_CASE("MatchesWildcard follows DICOM '*' and '?'", "[storage_decision]") {
  struct Row {
    std::string pattern, value;
    bool ignore_case, matches;
  };
  const std::vector<Row> rows = {
      {"CT", "CT", false, true},
      {"CT", "MR", false, false},
      {"CT", "ct", false, false},
      {"CT", "ct", true, true},
      {"*", "", false, true},
      {"*", "anything", false, true},
      {"C?", "CT", false, true},
      {"C?", "C", false, false},
      {"C?", "CTA", false, false},
      {"*SCAN*", "CT_SCANNER", false, true},
      {"*SCAN*", "CT_SCANNER", false, true},
      {"*scan*", "CT_SCANNER", true, true},
      {"*scan*", "CT_SCANNER", false, false},
      {"a*b*c", "aXXbYYc", false, true},
      {"a*b*c", "aXXbYY", false, false},
      {"a**c", "ac", false, true},
      {"?", "é", false, true},
      {"??", "é", false, false},
      {"Th*", "Thorax", false, true},
      {"", "", false, true},
      {"", "x", false, false},
  };
  for (const auto &row : rows) {
    INFO("'" << row.pattern << "' vs '" << row.value << "' ignore_case "
             << row.ignore_case);
    CHECK(MatchesWildcard(row.pattern, row.value, row.ignore_case) ==
          row.matches);
  }
}

TEST_CASE("ValidateWildcardPattern refuses empty, long, backslash and control "
          "characters",
          "[storage_decision]") {
  CHECK_NOTHROW(ValidateWildcardPattern("modality", "CT"));
  CHECK_NOTHROW(ValidateWildcardPattern("study_description", "*Thorax?*"));
  CHECK_NOTHROW(ValidateWildcardPattern("body_part", std::string(64, 'A')));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},
      {std::string(65, 'A'), "longer than 64"},
      {"CT\\MR", "backslash"},
      {"CT\n", "control character"},
      {std::string("C\tT"), "control character"},
  };
  for (const auto &[pattern, why] : bad) {
    INFO(why);
    try {
      ValidateWildcardPattern("modality", pattern);
      FAIL("accepted");
    } catch (const Error &error) {
      CHECK(error.code() == ErrorCode::kInvalidInput);
      CHECK_THAT(error.what(),
                 Catch::Contains("modality") && Catch::Contains(why));
    }
  }
}

TEST_CASE("data_kept modes decide before any rule", "[storage_decision]") {
  struct Row {
    std::string data_kept;
    std::vector<std::string> kept_modalities;
    std::optional<std::string> choice;
    std::string modality;
    bool accept;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"all",
       {},
       std::nullopt,
       "CT",
       true,
       "rule 1 'all' accepts any instance"},
      {"all", {}, "opt_out", "CT", true, ""},
      {"patient_opt_in", {}, "opt_in", "CT", true, ""},
      {"patient_opt_in",
       {},
       std::nullopt,
       "CT",
       false,
       "contract 7 data_kept patient_opt_in: the patient has not opted in"},
      {"patient_opt_in",
       {},
       "opt_out",
       "CT",
       false,
       "data_kept patient_opt_in"},
      {"patient_opt_out", {}, std::nullopt, "CT", true, ""},
      {"patient_opt_out", {}, "opt_in", "CT", true, ""},
      {"patient_opt_out",
       {},
       "opt_out",
       "CT",
       false,
       "contract 7 data_kept patient_opt_out: the patient opted out"},
      {"per_modality", {"CT", "MR"}, std::nullopt, "CT", true, ""},
      {"per_modality",
       {"MR"},
       std::nullopt,
       "CT",
       false,
       "contract 7 data_kept per_modality: modality 'CT' is not in "
       "kept_modalities (MR)"},
      {"per_exam",
       {},
       std::nullopt,
       "CT",
       false,
       "contract 7 data_kept per_exam: no rule accepts this instance"},
  };
  for (const auto &row : rows) {
    INFO(row.data_kept << " choice " << row.choice.value_or("none")
                       << " modality " << row.modality);
    StorageContract contract = Contract(row.data_kept);
    contract.kept_modalities = row.kept_modalities;
    IngestFacts facts = Facts();
    facts.patient_choice = row.choice;
    facts.modality = row.modality;
    // An accepting rule for everything: the contract refusals come first.
    const std::vector<StorageRule> rules = row.data_kept == "per_exam"
                                               ? std::vector<StorageRule>{}
                                               : std::vector{Accept(1, "all")};
    const StorageDecision decision = DecideStorage(contract, rules, facts);
    CHECK(decision.accept == row.accept);
    if (!row.accept) {
      CHECK(decision.status == kRefusedNotAuthorized);
      CHECK_FALSE(decision.rule_id);
      CHECK(decision.rule_name == "contract default");
    }
    if (!row.reason.empty())
      CHECK_THAT(decision.reason, Catch::Contains(row.reason));
  }
}

TEST_CASE("per_exam keeps only what a rule accepts", "[storage_decision]") {
  StorageRule mr = Accept(3, "mr only", "10y");
  mr.modality = "MR";
  IngestFacts facts = Facts();
  CHECK_FALSE(DecideStorage(Contract("per_exam"), {mr}, facts).accept);
  facts.modality = "MR";
  const auto decision = DecideStorage(Contract("per_exam"), {mr}, facts);
  CHECK(decision.accept);
  CHECK(decision.rule_id == 3);
  CHECK(Expiry(decision) == "2030-01-15T00:00:00Z");
}

TEST_CASE("each rule condition holds or not", "[storage_decision]") {
  struct Row {
    std::string name;
    std::function<void(StorageRule &)> condition;
    std::function<void(IngestFacts &)> facts; // applied to Facts()
    bool holds;
  };
  auto none = [](IngestFacts &) {};
  const std::vector<Row> rows = {
      {"no condition", [](StorageRule &) {}, none, true},
      {"calling_ae exact", [](StorageRule &r) { r.calling_ae = "CT_SCANNER"; },
       none, true},
      {"calling_ae ignores case",
       [](StorageRule &r) { r.calling_ae = "ct_scanner"; }, none, true},
      {"calling_ae wildcard", [](StorageRule &r) { r.calling_ae = "CT_*"; },
       none, true},
      {"calling_ae trims padding",
       [](StorageRule &r) { r.calling_ae = "CT_SCANNER"; },
       [](IngestFacts &f) { f.calling_ae = "CT_SCANNER  "; }, true},
      {"calling_ae other", [](StorageRule &r) { r.calling_ae = "MR_*"; }, none,
       false},
      {"modality", [](StorageRule &r) { r.modality = "CT"; }, none, true},
      {"modality is case-sensitive", [](StorageRule &r) { r.modality = "ct"; },
       none, false},
      {"modality other", [](StorageRule &r) { r.modality = "MR"; }, none,
       false},
      {"modality empty value", [](StorageRule &r) { r.modality = "CT"; },
       [](IngestFacts &f) { f.modality = ""; }, false},
      {"modality star matches empty", [](StorageRule &r) { r.modality = "*"; },
       [](IngestFacts &f) { f.modality = ""; }, true},
      {"sop class wildcard",
       [](StorageRule &r) { r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.?"; },
       none, true},
      {"sop class other",
       [](StorageRule &r) { r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.4"; },
       none, false},
      {"body part", [](StorageRule &r) { r.body_part = "CHEST"; }, none, true},
      {"body part other", [](StorageRule &r) { r.body_part = "BREAST"; }, none,
       false},
      {"study description wildcard",
       [](StorageRule &r) { r.study_description = "*orax*"; }, none, true},
      {"study description case",
       [](StorageRule &r) { r.study_description = "thorax*"; }, none, false},
      // Born 1970-01-01, studied 2020-01-15: 50 years old.
      {"age min inclusive", [](StorageRule &r) { r.patient_age_min = 50; },
       none, true},
      {"age min above", [](StorageRule &r) { r.patient_age_min = 51; }, none,
       false},
      {"age max inclusive", [](StorageRule &r) { r.patient_age_max = 50; },
       none, true},
      {"age max below", [](StorageRule &r) { r.patient_age_max = 49; }, none,
       false},
      {"age range",
       [](StorageRule &r) {
         r.patient_age_min = 18;
         r.patient_age_max = 65;
       },
       none, true},
      {"age at the study date, not today",
       [](StorageRule &r) { r.patient_age_max = 52; }, none, true},
      {"age from the receipt day without study date",
       [](StorageRule &r) { r.patient_age_max = 52; },
       [](IngestFacts &f) { f.study_date = ""; }, false},
      {"age unknown: min does not hold",
       [](StorageRule &r) { r.patient_age_min = 0; },
       [](IngestFacts &f) { f.patient_birth_date = ""; }, false},
      {"age unknown: max does not hold",
       [](StorageRule &r) { r.patient_age_max = 200; },
       [](IngestFacts &f) { f.patient_birth_date = "bad"; }, false},
      {"opted out true, patient opted out",
       [](StorageRule &r) { r.patient_opted_out = true; },
       [](IngestFacts &f) { f.patient_choice = "opt_out"; }, true},
      {"opted out true, no choice",
       [](StorageRule &r) { r.patient_opted_out = true; }, none, false},
      {"opted out false, no choice",
       [](StorageRule &r) { r.patient_opted_out = false; }, none, true},
      {"opted out false, opted in",
       [](StorageRule &r) { r.patient_opted_out = false; },
       [](IngestFacts &f) { f.patient_choice = "opt_in"; }, true},
      {"opted out false, patient opted out",
       [](StorageRule &r) { r.patient_opted_out = false; },
       [](IngestFacts &f) { f.patient_choice = "opt_out"; }, false},
      {"all conditions must hold",
       [](StorageRule &r) {
         r.modality = "CT";
         r.body_part = "HEAD";
       },
       none, false},
  };
  for (const auto &row : rows) {
    INFO(row.name);
    StorageRule rule = Accept(11, row.name, "1y");
    row.condition(rule);
    IngestFacts facts = Facts();
    row.facts(facts);
    const auto decision = DecideStorage(Contract(), {rule}, facts);
    CHECK(decision.accept);
    CHECK(decision.rule_id.has_value() == row.holds);
    CHECK(decision.rule_name == (row.holds ? row.name : "contract default"));
  }
}

TEST_CASE("the first matching rule decides, in the order given",
          "[storage_decision]") {
  StorageRule facility_ct = Accept(20, "facility CT 10y", "10y");
  facility_ct.facility_id = 1;
  facility_ct.position = 1;
  facility_ct.modality = "CT";
  StorageRule facility_any = Accept(21, "facility any 2y", "2y");
  facility_any.facility_id = 1;
  facility_any.position = 2;
  StorageRule global_ct = Accept(5, "global CT 1y", "1y");
  global_ct.modality = "CT";
  global_ct.tier = "cold";

  const IngestFacts facts = Facts();
  // Facility rules first (the caller orders them): the facility's CT rule.
  auto decision =
      DecideStorage(Contract(), {facility_ct, facility_any, global_ct}, facts);
  CHECK(decision.rule_id == 20);
  CHECK(Expiry(decision) == "2030-01-15T00:00:00Z");
  CHECK(decision.tier == "hot");
  // The order given is respected, whatever the ids and positions say.
  decision =
      DecideStorage(Contract(), {facility_any, facility_ct, global_ct}, facts);
  CHECK(decision.rule_id == 21);
  CHECK(Expiry(decision) == "2022-01-15T00:00:00Z");
  decision = DecideStorage(Contract(), {global_ct, facility_ct}, facts);
  CHECK(decision.rule_id == 5);
  CHECK(decision.tier == "cold");
  CHECK(Expiry(decision) == "2021-01-15T00:00:00Z");
  // A rule that does not match is passed over.
  IngestFacts mr = facts;
  mr.modality = "MR";
  decision =
      DecideStorage(Contract(), {facility_ct, global_ct, facility_any}, mr);
  CHECK(decision.rule_id == 21);
  // No rule at all: the contract's default period, tier hot.
  decision = DecideStorage(Contract(), {}, facts);
  CHECK(decision.accept);
  CHECK_FALSE(decision.rule_id);
  CHECK(decision.rule_name == "contract default");
  CHECK(decision.reason == "contract 7 default_storage_period 5y");
  CHECK(decision.tier == "hot");
  CHECK(Expiry(decision) == "2025-01-15T00:00:00Z");
}

TEST_CASE("a reject rule refuses with its status and names itself",
          "[storage_decision]") {
  StorageRule reject_sr = Reject(9, "no SR from the scanner");
  reject_sr.modality = "SR";
  reject_sr.calling_ae = "CT_SCANNER";
  StorageRule busy = Reject(10, "busy", 0xA700);
  IngestFacts facts = Facts();
  facts.modality = "SR";

  auto decision =
      DecideStorage(Contract(), {reject_sr, Accept(1, "all")}, facts);
  CHECK_FALSE(decision.accept);
  CHECK(decision.status == 0x0124);
  CHECK(decision.rule_id == 9);
  CHECK(decision.rule_name == "no SR from the scanner");
  CHECK_THAT(decision.reason,
             Catch::Contains("rule 9 'no SR from the scanner' rejects") &&
                 Catch::Contains("calling_ae=CT_SCANNER and modality=SR"));
  CHECK_FALSE(decision.expires_at);

  decision = DecideStorage(Contract(), {busy}, Facts());
  CHECK_FALSE(decision.accept);
  CHECK(decision.status == 0xA700);
  // An accept before it wins.
  decision = DecideStorage(Contract(), {Accept(1, "all"), busy}, Facts());
  CHECK(decision.accept);
}

TEST_CASE("accepted periods: rule's own, contract default, until-age, forever",
          "[storage_decision]") {
  struct Row {
    std::string rule_period; // "" = the contract's
    std::string contract_period;
    std::string birth_date;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"", "5y", "19700101", "2025-01-15T00:00:00Z"},
      {"10y", "5y", "19700101", "2030-01-15T00:00:00Z"},
      {"forever", "5y", "19700101", "never"},
      {"", "forever", "19700101", "never"},
      {"until-age 25", "5y", "20100615", "2035-06-15T00:00:00Z"},
      // Unknown birth date: the contract's default period from the study date.
      {"until-age 25", "5y", "", "2025-01-15T00:00:00Z"},
      // ... and when that is until-age as well, the data is kept.
      {"until-age 25", "until-age 30", "", "never"},
      {"", "until-age 30", "20000101", "2030-01-01T00:00:00Z"},
  };
  for (const auto &row : rows) {
    INFO(row.rule_period << " / " << row.contract_period << " / "
                         << row.birth_date);
    StorageContract contract = Contract();
    contract.default_storage_period = ParseStoragePeriod(row.contract_period);
    IngestFacts facts = Facts();
    facts.patient_birth_date = row.birth_date;
    const auto decision =
        DecideStorage(contract, {Accept(4, "rule", row.rule_period)}, facts);
    CHECK(decision.accept);
    CHECK(Expiry(decision) == row.expected);
  }
}

TEST_CASE("rules and actions in words", "[storage_decision]") {
  StorageRule rule = Accept(1, "x", "10y");
  CHECK(DescribeConditions(rule) == "any instance");
  CHECK(DescribeAction(rule) == "accept, period 10y, tier hot");
  rule.modality = "MG";
  rule.patient_age_min = 40;
  rule.patient_opted_out = false;
  rule.tier = "cold";
  CHECK(DescribeConditions(rule) ==
        "modality=MG and patient_age_min=40 and patient_opted_out=false");
  CHECK(DescribeAction(rule) == "accept, period 10y, tier cold");
  CHECK(DescribeAction(Accept(2, "y")) ==
        "accept, period contract default, tier hot");
  CHECK(DescribeAction(Reject(3, "z", 0xA700)) == "reject 0xA700");
}

} // namespace hokan::archive
