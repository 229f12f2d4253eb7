#include "archive/rules/storage_decision.h"

#include <algorithm>

#include <fmt/format.h>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

constexpr std::size_t kMaximumPatternLength = 64;

std::string Trim(const std::string &text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos)
    return "";
  const auto last = text.find_last_not_of(' ');
  return text.substr(first, last - first + 1);
}

// Splits UTF-8 text into characters (a lead byte and its continuation
// bytes); bytes that are not valid UTF-8 count one each.
std::vector<std::string> Characters(const std::string &text, bool fold_case) {
  std::vector<std::string> characters;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length = 1;
    while (i + length < text.size() &&
           (static_cast<unsigned char>(text[i + length]) & 0xC0) == 0x80 &&
           (static_cast<unsigned char>(text[i]) & 0x80) != 0) {
      ++length;
    }
    std::string character = text.substr(i, length);
    if (fold_case && length == 1 && character[0] >= 'a' &&
        character[0] <= 'z') {
      character[0] = static_cast<char>(character[0] - 'a' + 'A');
    }
    characters.push_back(std::move(character));
    i += length;
  }
  return characters;
}

bool TextConditionHolds(const std::optional<std::string> &pattern,
                        const std::string &value, bool ignore_case = false) {
  return !pattern || MatchesWildcard(Trim(*pattern), Trim(value), ignore_case);
}

bool ConditionsHold(const StorageRule &rule, const IngestFacts &facts,
                    const std::optional<int> &age) {
  if (!TextConditionHolds(rule.calling_ae, facts.calling_ae, true))
    return false;
  if (!TextConditionHolds(rule.modality, facts.modality))
    return false;
  if (!TextConditionHolds(rule.sop_class_uid, facts.sop_class_uid))
    return false;
  if (!TextConditionHolds(rule.body_part, facts.body_part))
    return false;
  if (!TextConditionHolds(rule.study_description, facts.study_description))
    return false;
  if (rule.patient_age_min && (!age || *age < *rule.patient_age_min))
    return false;
  if (rule.patient_age_max && (!age || *age > *rule.patient_age_max))
    return false;
  if (rule.patient_opted_out) {
    const bool opted_out =
        facts.patient_choice == std::optional<std::string>("opt_out");
    if (opted_out != *rule.patient_opted_out)
      return false;
  }
  return true;
}

StorageDecision Refuse(std::uint16_t status, std::string reason) {
  StorageDecision decision;
  decision.accept = false;
  decision.status = status;
  decision.reason = std::move(reason);
  decision.rule_name = "contract default";
  return decision;
}

std::string RuleLabel(const StorageRule &rule) {
  return fmt::format("rule {} '{}'", rule.id, rule.name);
}

} // namespace

bool MatchesWildcard(const std::string &pattern_text,
                     const std::string &value_text, bool ignore_case) {
  const auto pattern = Characters(pattern_text, ignore_case);
  const auto value = Characters(value_text, ignore_case);
  // Greedy match with backtracking to the last '*'.
  std::size_t p = 0, v = 0;
  std::optional<std::size_t> star;
  std::size_t star_value = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == "*") {
      star = p++;
      star_value = v;
    } else if (p < pattern.size() &&
               (pattern[p] == "?" || pattern[p] == value[v])) {
      ++p;
      ++v;
    } else if (star) {
      p = *star + 1;
      v = ++star_value;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == "*")
    ++p;
  return p == pattern.size();
}

std::optional<int> PatientAge(const IngestFacts &facts) {
  const auto birth = ParseDicomDate(facts.patient_birth_date);
  if (!birth)
    return std::nullopt;
  const auto study = ParseDicomDate(facts.study_date);
  return AgeInYears(*birth, study ? *study : DateOf(facts.received_at));
}

void ValidateWildcardPattern(const std::string &key,
                             const std::string &pattern) {
  auto refuse = [&](const std::string &why) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("condition {}: {}", key, why));
  };
  if (pattern.empty())
    refuse("the pattern is empty");
  if (pattern.size() > kMaximumPatternLength) {
    refuse(fmt::format("the pattern is longer than {} characters",
                       kMaximumPatternLength));
  }
  for (char c : pattern) {
    if (c == '\\')
      refuse("a pattern cannot hold a backslash (one value per condition)");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      refuse("the pattern holds a control character");
    }
  }
}

std::string DescribeConditions(const StorageRule &rule) {
  std::vector<std::string> parts;
  auto text = [&](const char *key, const std::optional<std::string> &value) {
    if (value)
      parts.push_back(fmt::format("{}={}", key, *value));
  };
  text("calling_ae", rule.calling_ae);
  text("modality", rule.modality);
  text("sop_class_uid", rule.sop_class_uid);
  text("body_part", rule.body_part);
  text("study_description", rule.study_description);
  if (rule.patient_age_min)
    parts.push_back(fmt::format("patient_age_min={}", *rule.patient_age_min));
  if (rule.patient_age_max)
    parts.push_back(fmt::format("patient_age_max={}", *rule.patient_age_max));
  if (rule.patient_opted_out) {
    parts.push_back(fmt::format("patient_opted_out={}",
                                *rule.patient_opted_out ? "true" : "false"));
  }
  if (parts.empty())
    return "any instance";
  std::string joined = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i)
    joined += " and " + parts[i];
  return joined;
}

std::string DescribeAction(const StorageRule &rule) {
  if (!rule.accept)
    return fmt::format("reject 0x{:04X}", rule.reject_status);
  return fmt::format("accept, period {}, tier {}",
                     rule.storage_period
                         ? FormatStoragePeriod(*rule.storage_period)
                         : "contract default",
                     rule.tier.value_or("hot"));
}

namespace {

// Step 1 of DecideStorage: what the contract keeps at all; the refusal
// when it does not keep this instance, nullopt when it may.
std::optional<StorageDecision> RefusalByDataKept(const StorageContract &contract,
                                                 const IngestFacts &facts) {
  const std::string contract_label = fmt::format("contract {}", contract.id);
  if (contract.data_kept == "patient_opt_in") {
    if (facts.patient_choice != std::optional<std::string>("opt_in")) {
      return Refuse(
          kRefusedNotAuthorized,
          fmt::format(
              "{} data_kept patient_opt_in: the patient has not opted in",
              contract_label));
    }
  } else if (contract.data_kept == "patient_opt_out") {
    if (facts.patient_choice == std::optional<std::string>("opt_out")) {
      return Refuse(
          kRefusedNotAuthorized,
          fmt::format("{} data_kept patient_opt_out: the patient opted out",
                      contract_label));
    }
  } else if (contract.data_kept == "per_modality") {
    const std::string modality = Trim(facts.modality);
    if (std::find(contract.kept_modalities.begin(),
                  contract.kept_modalities.end(),
                  modality) == contract.kept_modalities.end()) {
      std::string kept;
      for (const auto &entry : contract.kept_modalities)
        kept += (kept.empty() ? "" : ", ") + entry;
      return Refuse(
          kRefusedNotAuthorized,
          fmt::format("{} data_kept per_modality: modality '{}' is not in "
                      "kept_modalities ({})",
                      contract_label, modality, kept));
    }
  } else if (contract.data_kept != "all" && contract.data_kept != "per_exam") {
    throw Error(ErrorCode::kInternal,
                fmt::format("{}: unknown data_kept '{}'", contract_label,
                            contract.data_kept));
  }
  return std::nullopt;
}

// Step 2's decision for `rule`, which holds for the instance.
StorageDecision DecisionOfRule(const StorageRule &rule, const StorageContract &contract,
                               const IngestFacts &facts) {
  StorageDecision decision;
  decision.rule_id = rule.id;
  decision.rule_name = rule.name;
  if (!rule.accept) {
    decision.accept = false;
    decision.status = rule.reject_status;
    decision.reason =
        fmt::format("{} rejects {}", RuleLabel(rule), DescribeConditions(rule));
    return decision;
  }
  decision.accept = true;
  const StoragePeriod period = rule.storage_period.value_or(contract.default_storage_period);
  decision.expires_at = ExpiryOf(period, ParseDicomDate(facts.study_date),
                                 ParseDicomDate(facts.patient_birth_date), facts.received_at,
                                 contract.default_storage_period);
  decision.tier = rule.tier.value_or("hot");
  decision.reason = fmt::format("{} accepts {}: {}", RuleLabel(rule), DescribeConditions(rule),
                                DescribeAction(rule));
  return decision;
}

}  // namespace

StorageDecision DecideStorage(const StorageContract &contract,
                              const std::vector<StorageRule> &rules,
                              const IngestFacts &facts) {
  const std::string contract_label = fmt::format("contract {}", contract.id);
  // 1. What the contract keeps at all.
  if (auto refusal = RefusalByDataKept(contract, facts)) return *refusal;

  // 2. The first rule whose every condition holds.
  const auto age = PatientAge(facts);
  for (const auto &rule : rules) {
    if (ConditionsHold(rule, facts, age)) return DecisionOfRule(rule, contract, facts);
  }

  // 3. No rule matched.
  if (contract.data_kept == "per_exam") {
    return Refuse(
        kRefusedNotAuthorized,
        fmt::format("{} data_kept per_exam: no rule accepts this instance",
                    contract_label));
  }
  StorageDecision decision;
  decision.accept = true;
  decision.rule_name = "contract default";
  decision.expires_at =
      ExpiryOf(contract.default_storage_period, ParseDicomDate(facts.study_date),
               ParseDicomDate(facts.patient_birth_date), facts.received_at,
               contract.default_storage_period);
  decision.reason =
      fmt::format("{} default_storage_period {}", contract_label,
                  FormatStoragePeriod(contract.default_storage_period));
  return decision;
}

} // namespace hokan::archive
