#include "archive/index/query_index.h"

#include <algorithm>

#include <fmt/format.h>

#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/model/available_range.h"
#include "archive/index/find_plan.h"

// BuildFindQuery: a C-FIND request as one parameterised SQL statement.

namespace hokan::archive {
namespace {

// Table aliases: p patients, s studies, e series, i instances.
//
// Related counts come from the counters ingest and expiry keep on each
// study and series row (schema 005): reading them costs nothing per match.
// Patient-level counts sum the patient's studies (studies_patient_idx).
// No file and no instance row is read.
//
// Sequences are jsonb arrays of items (objects keyed by the item
// attributes' keywords, schema 004): `value` is nullptr and `match` is the
// column; SequenceSql builds both expressions from the request's item.
struct ColumnSql {
  std::uint32_t tag;
  const char* value;  // SELECT expression, text
  // The expression conditions compare: the column (PN: the whole name,
  // lowered, as indexed by patients_name_lower_idx); nullptr for counts.
  const char* match;
  // PN only: each component group, lowered and without trailing '^' and
  // spaces (for PatientName the stored generated columns of schema 002).
  const char* groups[3];
};

#define HOKAN_PN_GROUP(column, n) \
  "rtrim(split_part(lower(" column "), '=', " #n "), '^ ')"

constexpr ColumnSql kColumns[] = {
    {0x00100010, "p.patient_name", "lower(p.patient_name)",
     {"p.patient_name_search_alphabetic", "p.patient_name_search_ideographic",
      "p.patient_name_search_phonetic"}},
    {0x00100020, "p.patient_id", "p.patient_id", {}},
    {0x00100021, "p.issuer_of_patient_id", "p.issuer_of_patient_id", {}},
    {0x00100030, "p.patient_birth_date", "p.patient_birth_date", {}},
    {0x00100040, "p.patient_sex", "p.patient_sex", {}},
    {0x00201200, "(SELECT count(*) FROM studies c WHERE c.patient_fk = p.id)::text", nullptr, {}},
    {0x00201202,
     "(SELECT COALESCE(sum(c.number_of_series), 0) FROM studies c"
     " WHERE c.patient_fk = p.id)::text",
     nullptr, {}},
    {0x00201204,
     "(SELECT COALESCE(sum(c.number_of_instances), 0) FROM studies c"
     " WHERE c.patient_fk = p.id)::text",
     nullptr, {}},
    {0x00101002, nullptr, "p.other_patient_ids", {}},
    {0x0020000D, "s.study_instance_uid", "s.study_instance_uid", {}},
    {0x00080020, "s.study_date", "s.study_date", {}},
    {0x00080030, "s.study_time", "s.study_time", {}},
    {0x00080050, "s.accession_number", "s.accession_number", {}},
    {0x00200010, "s.study_id", "s.study_id", {}},
    {0x00081030, "s.study_description", "s.study_description", {}},
    {0x00080090, "s.referring_physician_name", "lower(s.referring_physician_name)",
     {HOKAN_PN_GROUP("s.referring_physician_name", 1),
      HOKAN_PN_GROUP("s.referring_physician_name", 2),
      HOKAN_PN_GROUP("s.referring_physician_name", 3)}},
    {0x00080061, "array_to_string(s.modalities_in_study, '\\')", "s.modalities_in_study", {}},
    {0x00201206, "s.number_of_series::text", nullptr, {}},
    {0x00201208, "s.number_of_instances::text", nullptr, {}},
    {0x00081032, nullptr, "s.procedure_codes", {}},
    {0x0020000E, "e.series_instance_uid", "e.series_instance_uid", {}},
    {0x00080060, "e.modality", "e.modality", {}},
    {0x00200011, "e.series_number", "e.series_number", {}},
    {0x0008103E, "e.series_description", "e.series_description", {}},
    {0x00180015, "e.body_part_examined", "e.body_part_examined", {}},
    {0x00201209, "e.number_of_instances::text", nullptr, {}},
    {0x00400275, nullptr, "e.request_attributes", {}},
    {0x00080018, "i.sop_instance_uid", "i.sop_instance_uid", {}},
    {0x00080016, "i.sop_class_uid", "i.sop_class_uid", {}},
    {0x00200013, "i.instance_number", "i.instance_number", {}},
    {0x00280008, "COALESCE(i.number_of_frames::text, '')", "i.number_of_frames", {}},
    {0x00280010, "COALESCE(i.rows::text, '')", "i.rows", {}},
    {0x00280011, "COALESCE(i.columns::text, '')", "i.columns", {}},
};

#undef HOKAN_PN_GROUP

const ColumnSql& ColumnOf(std::uint32_t tag) {
  for (const auto& column : kColumns) {
    if (column.tag == tag) return column;
  }
  throw Error(ErrorCode::kInternal,
              fmt::format("{}: supported for query but has no column", DescribeTag(tag)));
}

// The rows a level's statement reads: FROM clause, and the aliases of every
// table in it (driving table first).
struct LevelTables {
  std::string from;
  std::vector<const char*> aliases;
};

constexpr const char* kJoinPatients = "JOIN patients p ON p.id = s.patient_fk";
// The same rows, one primary-key lookup per study row: a subquery with
// OFFSET 0 is not flattened into the join, so PostgreSQL cannot hash-join
// (and so read) the whole patients table. Used when no key matches on
// patients: the study rows are then already chosen by their own conditions,
// and the sharing condition on p (an OR with a sub-select, which no index
// serves) made the planner scan every patient to build the hash (2 of the
// 2.4 ms of a one-month StudyDate query at a million instances, 12 ms at ten
// million); per row it costs about 2 us.
constexpr const char* kPatientOfEachStudy =
    "JOIN LATERAL (SELECT * FROM patients p WHERE p.id = s.patient_fk OFFSET 0) p ON true";

// Below PATIENT level the patients join is added by BuildFindQuery.
LevelTables TablesOf(QueryLevel level) {
  switch (level) {
    case QueryLevel::kPatient:
      return {"patients p", {"p"}};
    case QueryLevel::kStudy:
      return {"studies s", {"s", "p"}};
    case QueryLevel::kSeries:
      return {"series e\nJOIN studies s ON s.id = e.study_fk", {"e", "s", "p"}};
    case QueryLevel::kImage:
      return {"instances i\nJOIN series e ON e.id = i.series_fk\n"
              "JOIN studies s ON s.id = e.study_fk",
              {"i", "e", "s", "p"}};
  }
  throw Error(ErrorCode::kInternal, "unknown query level");
}

// The FROM clause: the level's tables and, below PATIENT level, patients,
// joined by row unless a key matches on them (`matched_aliases`).
std::string FromClause(QueryLevel level, const LevelTables& tables,
                       const std::vector<std::string>& matched_aliases) {
  if (level == QueryLevel::kPatient) return tables.from;
  const bool patients_matched =
      std::find(matched_aliases.begin(), matched_aliases.end(), "p") != matched_aliases.end();
  return tables.from + "\n" + (patients_matched ? kJoinPatients : kPatientOfEachStudy);
}

// A LIKE pattern (escape character '\') for a DICOM wildcard pattern:
// '*' -> '%', '?' -> '_'; '%', '_' and '\' stand for themselves.
std::string LikePattern(const std::string& dicom) {
  std::string pattern;
  pattern.reserve(dicom.size() + 8);
  for (char c : dicom) {
    if (c == '*') {
      pattern += '%';
    } else if (c == '?') {
      pattern += '_';
    } else {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
  }
  return pattern;
}

// Collects conditions and their parameters.
class StatementBuilder {
 public:
  // A placeholder for `value`, cast to `type`.
  std::string Param(std::string value, const char* type = "text") {
    params_.push_back(std::move(value));
    return fmt::format("${}::{}", params_.size(), type);
  }
  void Where(std::string condition) { conditions_.push_back(std::move(condition)); }

  std::vector<std::string>& params() { return params_; }
  const std::vector<std::string>& conditions() const { return conditions_; }

 private:
  std::vector<std::string> params_;
  std::vector<std::string> conditions_;
};

// "<expression> = <param>", or "<expression> LIKE <param> ESCAPE '\'".
std::string Compare(const std::string& expression, const std::string& param, bool wildcard) {
  return wildcard ? fmt::format("{} LIKE {} ESCAPE '\\'", expression, param)
                  : fmt::format("{} = {}", expression, param);
}

// Dates and times compare as DICOM text in the "C" collation (byte order),
// which orders them correctly whatever the database's collation is; the
// date index of schema 002 is built in that collation.
void AddRange(StatementBuilder& builder, const char* column, const KeyMatch& match) {
  const std::string collated = fmt::format("{} COLLATE \"C\"", column);
  if (match.lower.empty()) {
    builder.Where(collated + " > ''");  // an empty stored value is no date
  } else {
    builder.Where(fmt::format("{} >= {}", collated, builder.Param(match.lower)));
  }
  if (!match.upper.empty()) {
    builder.Where(fmt::format("{} <= {}", collated, builder.Param(match.upper)));
  }
}

void AddPersonName(StatementBuilder& builder, const ColumnSql& column, const KeyMatch& match) {
  const bool wildcard = match.kind == MatchKind::kWildcard;
  const std::string param =
      fmt::format("lower({})", builder.Param(wildcard ? LikePattern(match.value) : match.value));
  if (match.value.find('=') != std::string::npos) {
    builder.Where(Compare(column.match, param, wildcard));
    return;
  }
  // Each arm has its own index (for PatientName), so PostgreSQL can combine
  // them with a BitmapOr.
  builder.Where(fmt::format("({} OR {} OR {})", Compare(column.groups[0], param, wildcard),
                            Compare(column.groups[1], param, wildcard),
                            Compare(column.groups[2], param, wildcard)));
}

void AddCodeList(StatementBuilder& builder, const ColumnSql& column, const KeyMatch& match) {
  std::vector<std::string> exact;
  std::vector<std::string> arms;
  for (const std::string& code : match.values) {
    if (code.find_first_of("*?") == std::string::npos) {
      exact.push_back(code);
    } else {
      arms.push_back(fmt::format(
          "EXISTS (SELECT 1 FROM unnest({}) AS m(code) WHERE m.code LIKE {} ESCAPE '\\')",
          column.match, builder.Param(LikePattern(code))));
    }
  }
  if (!exact.empty()) {
    arms.insert(arms.begin(),
                fmt::format("{} && {}", column.match,
                            builder.Param(TextArrayLiteral(exact), "text[]")));
  }
  std::string condition = arms.front();
  for (std::size_t i = 1; i < arms.size(); ++i) condition += " OR " + arms[i];
  builder.Where(arms.size() == 1 ? condition : "(" + condition + ")");
}

void AddCondition(StatementBuilder& builder, const QueryAttribute& attribute,
                  const ColumnSql& column, const KeyMatch& match) {
  if (match.kind == MatchKind::kUniversal) return;
  switch (attribute.match) {
    case MatchType::kPersonName:
      AddPersonName(builder, column, match);
      return;
    case MatchType::kCodeList:
      AddCodeList(builder, column, match);
      return;
    case MatchType::kDate:
    case MatchType::kTime:
      if (match.kind == MatchKind::kRange) {
        AddRange(builder, column.match, match);
      } else {
        builder.Where(fmt::format("{} COLLATE \"C\" = {}", column.match,
                                  builder.Param(match.value)));
      }
      return;
    case MatchType::kNumber:
      builder.Where(fmt::format("{} = {}", column.match, builder.Param(match.value, "integer")));
      return;
    case MatchType::kUid:
      if (match.kind == MatchKind::kList) {
        builder.Where(fmt::format("{} = ANY ({})", column.match,
                                  builder.Param(TextArrayLiteral(match.values), "text[]")));
        return;
      }
      builder.Where(Compare(column.match, builder.Param(match.value), false));
      return;
    case MatchType::kString:
    case MatchType::kNumberText: {
      const bool wildcard = match.kind == MatchKind::kWildcard;
      builder.Where(Compare(column.match,
                            builder.Param(wildcard ? LikePattern(match.value) : match.value),
                            wildcard));
      return;
    }
    case MatchType::kCount:     // refused by PlanFind when it has a value
    case MatchType::kSequence:  // matched by SequenceSql
      return;
  }
}

// A sequence key's SELECT expression: a two-dimensional text[] with one
// row per matching item, in stored order; each row holds '' and then one
// value per sub-key (NULL for an item attribute the index does not keep).
// Adds the EXISTS condition when a sub-key matches.
std::string SequenceSql(StatementBuilder& builder, const ColumnSql& column,
                        const PlannedKey& key) {
  std::string row = "''";
  std::vector<std::string> conditions;
  for (const PlannedKey& sub_key : key.item) {
    if (sub_key.attribute == nullptr) {
      row += ", NULL";
      continue;
    }
    const std::string field = fmt::format("(item ->> '{}')", sub_key.attribute->name);
    row += fmt::format(", COALESCE({}, '')", field);
    const KeyMatch& match = sub_key.match;
    if (match.kind == MatchKind::kUniversal) continue;
    if (match.kind == MatchKind::kList) {
      conditions.push_back(fmt::format("{} = ANY ({})", field,
                                       builder.Param(TextArrayLiteral(match.values), "text[]")));
    } else {
      const bool wildcard = match.kind == MatchKind::kWildcard;
      conditions.push_back(Compare(
          field, builder.Param(wildcard ? LikePattern(match.value) : match.value), wildcard));
    }
  }
  std::string where;
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    where += (i ? " AND " : " WHERE ") + conditions[i];
  }
  const std::string items =
      fmt::format("FROM jsonb_array_elements({}) WITH ORDINALITY AS t(item, n){}", column.match,
                  where);
  if (!conditions.empty()) builder.Where(fmt::format("EXISTS (SELECT 1 {})", items));
  return fmt::format("ARRAY(SELECT ARRAY[{}] {} ORDER BY n)", row, items);
}

// The alias of the table holding the attributes of `level` (its level in
// the Patient Root model, which names the table).
const char* AliasOf(QueryLevel level) {
  switch (level) {
    case QueryLevel::kPatient: return "p";
    case QueryLevel::kStudy: return "s";
    case QueryLevel::kSeries: return "e";
    case QueryLevel::kImage: return "i";
  }
  return "i";
}

// The in-range test of archive/model/available_range.h on the instance
// columns given, its lists as parameters (added only when used).
std::string InRangeSqlOf(StatementBuilder& builder, const RangeFilter& range,
                         const char* sop_class_column, const char* modality_column) {
  std::string sop_class_uids, modalities;
  if (!range.every_modality) {
    sop_class_uids = builder.Param(TextArrayLiteral(range.sop_class_uids), "text[]");
    modalities = builder.Param(TextArrayLiteral(range.modalities), "text[]");
  }
  return InRangeSql(sop_class_column, modality_column, range.every_modality,
                    range.include_reports, sop_class_uids, modalities);
}

// A purpose's available range (RangeFilter) as conditions on the level's
// rows (at IMAGE level, InRangeSql).
void AddRangeConditions(StatementBuilder& builder, QueryLevel level, const RangeFilter& range,
                        std::vector<std::string>& conditions) {
  const bool any_modality = range.every_modality || !range.sop_class_uids.empty();
  switch (level) {
    case QueryLevel::kPatient:
      if (!any_modality) {
        conditions.push_back(fmt::format(
            "EXISTS (SELECT 1 FROM studies r WHERE r.patient_fk = p.id"
            " AND r.modalities_in_study && {})",
            builder.Param(TextArrayLiteral(range.modalities), "text[]")));
      }
      return;
    case QueryLevel::kStudy:
      if (!any_modality) {
        conditions.push_back(fmt::format(
            "s.modalities_in_study && {}",
            builder.Param(TextArrayLiteral(range.modalities), "text[]")));
      }
      return;
    case QueryLevel::kSeries:
      if (!any_modality) {
        conditions.push_back(fmt::format(
            "e.modality = ANY ({})", builder.Param(TextArrayLiteral(range.modalities), "text[]")));
      }
      return;
    case QueryLevel::kImage: {
      const std::string in_range = InRangeSqlOf(builder, range, "i.sop_class_uid", "e.modality");
      if (in_range != "true") conditions.push_back(in_range);
      return;
    }
  }
}

// Under a purpose, what a count or ModalitiesInStudy returns covers only
// what the purpose may retrieve (the stored counters count everything):
// the replacement SELECT expression for `tag`, or nullptr to keep the
// column's own.
std::optional<std::string> RangeValueSql(StatementBuilder& builder, std::uint32_t tag,
                                         const RangeFilter& range) {
  switch (tag) {
    case 0x00201200: case 0x00201202: case 0x00201204: case 0x00201206: case 0x00201208:
    case 0x00201209: case 0x00080061:
      break;
    default:
      return std::nullopt;  // (and no parameter: an unused one has no type)
  }
  // An in-range instance ri of series re.
  const std::string in_range = InRangeSqlOf(builder, range, "ri.sop_class_uid", "re.modality");
  const auto count = [&](const char* what, const char* scope) {
    return fmt::format(
        "(SELECT count({}) FROM instances ri JOIN series re ON re.id = ri.series_fk"
        " JOIN studies rs ON rs.id = re.study_fk WHERE {} AND {})::text",
        what, scope, in_range);
  };
  switch (tag) {
    case 0x00201200: return count("DISTINCT rs.id", "rs.patient_fk = p.id");
    case 0x00201202: return count("DISTINCT re.id", "rs.patient_fk = p.id");
    case 0x00201204: return count("*", "rs.patient_fk = p.id");
    case 0x00201206: return count("DISTINCT re.id", "rs.id = s.id");
    case 0x00201208: return count("*", "rs.id = s.id");
    case 0x00201209: return count("*", "re.id = e.id");
    case 0x00080061:
      return fmt::format(
          "COALESCE((SELECT string_agg(DISTINCT re.modality, '\\' ORDER BY re.modality)"
          " FROM instances ri JOIN series re ON re.id = ri.series_fk"
          " WHERE re.study_fk = s.id AND {}), '')",
          in_range);
    default: return std::nullopt;
  }
}

}  // namespace

BuiltQuery BuildFindQuery(const FindRequest& request) {
  const FindPlan plan = PlanFind(request);
  const LevelTables tables = TablesOf(plan.level);
  StatementBuilder builder;
  const std::string own_facilities =
      builder.Param(BigintArrayLiteral(request.facility_ids), "bigint[]");
  // With sharing grants the scope widens to the owners of patients shared
  // with the caller (an InitPlan array, so the facility indexes still
  // serve), and a patient condition keeps only the granted patients there.
  const std::string active_grants = fmt::format(
      "FROM sharing_grants g WHERE g.grantee_facility_id = ANY ({}) AND g.revoked_at IS NULL",
      own_facilities);
  const std::string scope =
      request.include_shared_patients
          ? fmt::format("(ARRAY(SELECT g.owner_facility_id {}) || {})", active_grants,
                        own_facilities)
          : own_facilities;

  BuiltQuery query;
  std::string select = fmt::format("SELECT {}.id", tables.aliases.front());
  std::vector<std::string> matched_aliases;
  int next_column = 1;
  for (const PlannedKey& key : plan.keys) {
    if (key.attribute == nullptr) {
      query.key_columns.push_back(-1);
      query.sequence_keys.push_back(false);
      continue;
    }
    const ColumnSql& column = ColumnOf(key.attribute->tag);
    const bool sequence = key.attribute->match == MatchType::kSequence;
    std::optional<std::string> value;
    if (sequence) {
      value = SequenceSql(builder, column, key);
    } else if (request.range) {
      value = RangeValueSql(builder, key.attribute->tag, *request.range);
    }
    select += fmt::format(",\n       {}", value ? *value : std::string(column.value));
    query.key_columns.push_back(next_column++);
    query.sequence_keys.push_back(sequence);
    if (!sequence) AddCondition(builder, *key.attribute, column, key.match);
    if (key.match.kind != MatchKind::kUniversal) {
      matched_aliases.push_back(AliasOf(key.attribute->level));
    }
  }

  // Scope: the driving table's rows must belong to the request's
  // facilities; the rows above them belong to the same facility (the index
  // never links rows across facilities). A joined table is scoped as well
  // when a key matches on it, so that its (facility_id, …) indexes serve,
  // e.g. patients (facility_id, patient_id) for an exact Patient ID.
  std::vector<std::string> conditions;
  for (const char* alias : tables.aliases) {
    const bool driving = alias == tables.aliases.front();
    const bool matched = std::find(matched_aliases.begin(), matched_aliases.end(), alias) !=
                         matched_aliases.end();
    if (driving || matched) {
      conditions.push_back(fmt::format("{}.facility_id = ANY ({})", alias, scope));
    }
  }
  if (request.include_shared_patients) {
    conditions.push_back(fmt::format(
        "(p.facility_id = ANY ({}) OR (p.facility_id, p.patient_id) IN "
        "(SELECT g.owner_facility_id, g.patient_id {}))",
        own_facilities, active_grants));
  }
  conditions.insert(conditions.end(), builder.conditions().begin(), builder.conditions().end());
  if (request.range) AddRangeConditions(builder, plan.level, *request.range, conditions);

  query.sql = select + "\nFROM " + FromClause(plan.level, tables, matched_aliases) + "\nWHERE ";
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    if (i) query.sql += "\n  AND ";
    query.sql += conditions[i];
  }
  query.sql += fmt::format("\nORDER BY {}.id", tables.aliases.front());
  query.params = std::move(builder.params());
  return query;
}

}  // namespace hokan::archive
