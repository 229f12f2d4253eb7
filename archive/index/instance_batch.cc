// InstanceIndex::InsertBatch: one commit batch in one transaction (see
// instance_index.h and schema 013's hokan_index_batch).

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <tuple>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/instance_index.h"
#include "archive/index/sql/instance_statements.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

constexpr std::size_t kMaxKnownSeries = 10000;

// A JSON string literal for UTF-8 `text`.
std::string JsonString(const std::string& text) {
  std::string json = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      json += '\\';
      json += c;
    } else if (byte < 0x20) {
      json += fmt::format("\\u{:04x}", byte);
    } else {
      json += c;
    }
  }
  return json + "\"";
}

// The jsonb form of a sequence's items (schema 004).
std::string JsonItems(const std::vector<AttributeItem>& items) {
  std::string json = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    json += i ? ",{" : "{";
    for (std::size_t j = 0; j < items[i].size(); ++j) {
      if (j) json += ',';
      json += JsonString(items[i][j].first) + ':' + JsonString(items[i][j].second);
    }
    json += '}';
  }
  return json + "]";
}

std::string SeriesKey(const NewInstanceRow& row) {
  return fmt::format("{}/{}", row.facility_id, row.attributes.series_instance_uid);
}

// Every patient, study and series value the full insert writes, joined with
// a separator no DICOM text value contains.
std::string SeriesValues(const InstanceAttributes& a) {
  const std::string* values[] = {
      &a.patient_id, &a.issuer_of_patient_id, &a.patient_name, &a.patient_birth_date,
      &a.patient_sex, &a.specific_character_set, &a.study_instance_uid, &a.study_date,
      &a.study_time, &a.accession_number, &a.study_id, &a.study_description,
      &a.referring_physician_name, &a.modality, &a.series_number, &a.series_description,
      &a.body_part_examined};
  std::string joined;
  for (const std::string* value : values) {
    joined += *value;
    joined += '\x1f';
  }
  for (const auto* items : {&a.other_patient_ids, &a.procedure_codes, &a.request_attributes}) {
    joined += JsonItems(*items);
    joined += '\x1f';
  }
  return joined;
}

// The outcome from (checksum of an existing instance, whether this
// statement inserted the row); nullopt when neither (a series gone, or a
// concurrent commit this statement could not see: the caller runs it again).
std::optional<IndexOutcome> OutcomeOf(const pqxx::field& existing_checksum, bool inserted,
                                      const NewInstanceRow& row) {
  if (!existing_checksum.is_null()) {
    return existing_checksum.as<std::string>() == row.sha256_hex
               ? IndexOutcome::kExistsSameContent
               : IndexOutcome::kExistsDifferentContent;
  }
  if (inserted) return IndexOutcome::kInserted;
  return std::nullopt;
}

// The rows of one call of hokan_index_batch, as PostgreSQL array literals.
class BatchArrays {
 public:
  // Adds `row` in `series_id`; `already_added`: inserted by the caller (only
  // counted); `new_series`: it created its series.
  void Add(std::size_t row_index, const NewInstanceRow& row, std::int64_t series_id,
           bool already_added, bool new_series) {
    const InstanceAttributes& a = row.attributes;
    row_indexes_.push_back(row_index);
    const std::string values[kColumns] = {
        std::to_string(row.facility_id), std::to_string(series_id), a.sop_instance_uid,
        a.sop_class_uid, a.instance_number, std::to_string(a.number_of_frames),
        std::to_string(a.rows), std::to_string(a.columns), a.specific_character_set,
        a.transfer_syntax_uid, row.relative_path, std::to_string(row.size_bytes),
        row.sha256_hex, row.calling_ae,
        row.expires_at ? FormatUtc(*row.expires_at) : std::string("infinity"),
        std::to_string(row.storage_rule_id.value_or(-1)), row.tier,
        already_added ? "true" : "false", new_series ? "true" : "false"};
    for (std::size_t column = 0; column < kColumns; ++column) {
      columns_[column].push_back(values[column]);
    }
  }

  bool empty() const { return row_indexes_.empty(); }
  // The index in the batch of the call's row `ordinal` (1-based).
  std::size_t RowIndex(std::int64_t ordinal) const {
    return row_indexes_.at(static_cast<std::size_t>(ordinal - 1));
  }
  bool AlreadyAdded(std::int64_t ordinal) const {
    return columns_[kAlreadyAddedColumn].at(static_cast<std::size_t>(ordinal - 1)) == "true";
  }

  pqxx::result Run(pqxx::transaction_base& transaction, const std::string& now) const {
    std::vector<std::string> literals;
    for (const auto& column : columns_) literals.push_back(TextArrayLiteral(column));
    return sql::Exec(transaction, sql::kIndexBatch, literals[0], literals[1], literals[2],
                     literals[3], literals[4], literals[5], literals[6], literals[7],
                     literals[8], literals[9], literals[10], literals[11], literals[12],
                     literals[13], literals[14], literals[15], literals[16], literals[17],
                     literals[18], now);
  }

 private:
  static constexpr std::size_t kColumns = 19;
  static constexpr std::size_t kAlreadyAddedColumn = 17;  // $18 of kIndexBatch
  std::vector<std::size_t> row_indexes_;
  std::vector<std::string> columns_[kColumns];
};

// The order rows are written in: patient, study, series, SOP Instance UID
// (the order their row locks are taken in).
std::vector<std::size_t> LockOrder(const std::vector<const NewInstanceRow*>& rows) {
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  const auto key = [&](std::size_t i) {
    const InstanceAttributes& a = rows[i]->attributes;
    return std::tie(rows[i]->facility_id, a.patient_id, a.study_instance_uid,
                    a.series_instance_uid, a.sop_instance_uid);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return key(x) < key(y); });
  return order;
}

}  // namespace

struct InstanceIndex::BatchInserter {
  InstanceIndex& index;
  pqxx::transaction_base& transaction;
  const std::vector<const NewInstanceRow*>& rows;
  const std::string& now;
  std::unordered_map<std::string, KnownSeries>& learned;
  // Per row, its series as this node remembered it before the batch.
  const std::vector<std::optional<std::int64_t>>& remembered;
  std::vector<std::optional<IndexOutcome>> outcomes;

  // Writes every row. A row of a remembered series that is gone (expired)
  // or changed is written in full when `rewrite_gone_series`, or else left
  // without an outcome (its series forgotten) for the caller to write again;
  // so without it the body is the one statement of hokan_index_batch.
  void Run(bool rewrite_gone_series) {
    outcomes.assign(rows.size(), std::nullopt);
    BatchArrays batch;
    for (const std::size_t i : LockOrder(rows)) {
      // A series written earlier in this batch decides; else the memory.
      const auto series_id =
          learned.empty() ? remembered[i] : index.KnownSeriesOf(*rows[i], learned);
      if (series_id) {
        batch.Add(i, *rows[i], *series_id, false, false);
      } else if (rewrite_gone_series) {
        InsertWithSeries(i, batch);
      }  // else forgotten meanwhile: left for the caller, as a gone series
    }
    if (batch.empty()) return;
    BatchArrays series_gone;
    const pqxx::result result = batch.Run(transaction, now);
    for (const auto& answer : result) {
      const auto ordinal = answer[0].as<std::int64_t>();
      if (batch.AlreadyAdded(ordinal)) continue;
      const std::size_t i = batch.RowIndex(ordinal);
      outcomes[i] = OutcomeOf(answer[1], answer[2].as<bool>(), *rows[i]);
      if (outcomes[i]) continue;
      index.ForgetSeries(*rows[i]);
      learned.erase(SeriesKey(*rows[i]));
      if (rewrite_gone_series) InsertWithSeries(i, series_gone);
    }
    if (!series_gone.empty()) series_gone.Run(transaction, now);
  }

  // Writes row i with its patient, study and series (kInsertInstance); a
  // new instance goes into `counted` to be counted.
  void InsertWithSeries(std::size_t i, BatchArrays& counted) {
    const NewInstanceRow& row = *rows[i];
    const InstanceAttributes& a = row.attributes;
    const std::optional<std::string> expires_at =
        row.expires_at ? std::optional<std::string>(FormatUtc(*row.expires_at)) : std::nullopt;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto result = sql::Exec(
          transaction, sql::kInsertInstance, row.facility_id, a.patient_id,
          a.issuer_of_patient_id, a.patient_name, a.patient_birth_date, a.patient_sex,
          a.specific_character_set, a.study_instance_uid, a.study_date, a.study_time,
          a.accession_number, a.study_id, a.study_description, a.referring_physician_name,
          a.modality, a.series_instance_uid, a.series_number, a.series_description,
          a.body_part_examined, a.sop_instance_uid, a.sop_class_uid, a.instance_number,
          a.number_of_frames, a.rows, a.columns, a.transfer_syntax_uid, row.relative_path,
          static_cast<long long>(row.size_bytes), row.sha256_hex, row.calling_ae,
          JsonItems(a.other_patient_ids), JsonItems(a.procedure_codes),
          JsonItems(a.request_attributes), expires_at, row.storage_rule_id, row.tier, now);
      outcomes[i] = OutcomeOf(result[0][0], !result[0][1].is_null(), row);
      if (outcomes[i] == IndexOutcome::kInserted) {
        const auto series_id = result[0][2].as<std::int64_t>();
        learned[SeriesKey(row)] = KnownSeries{series_id, SeriesValues(a)};
        counted.Add(i, row, series_id, true, result[0][3].as<bool>());
      }
      if (outcomes[i]) return;
    }
    throw Error(ErrorCode::kDatabase,
                fmt::format("instance {}: index rows changed concurrently twice",
                            a.sop_instance_uid));
  }
};

std::optional<std::int64_t> InstanceIndex::KnownSeriesOf(
    const NewInstanceRow& row, const std::unordered_map<std::string, KnownSeries>& learned) {
  const std::string key = SeriesKey(row);
  const std::string values = SeriesValues(row.attributes);
  if (const auto found = learned.find(key); found != learned.end()) {
    if (found->second.values == values) return found->second.series_id;
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(known_series_mutex_);
  const auto known = known_series_.find(key);
  if (known != known_series_.end() && known->second.values == values) {
    return known->second.series_id;
  }
  return std::nullopt;
}

void InstanceIndex::ForgetSeries(const NewInstanceRow& row) {
  std::lock_guard<std::mutex> lock(known_series_mutex_);
  known_series_.erase(SeriesKey(row));
}

std::vector<std::optional<std::int64_t>> InstanceIndex::RememberedSeries(
    const std::vector<const NewInstanceRow*>& rows) {
  const std::unordered_map<std::string, KnownSeries> none;
  std::vector<std::optional<std::int64_t>> remembered;
  for (const NewInstanceRow* row : rows) remembered.push_back(KnownSeriesOf(*row, none));
  return remembered;
}

std::vector<IndexOutcome> InstanceIndex::InsertBatch(
    const std::vector<const NewInstanceRow*>& rows) {
  sql::TransactionPolicy policy{fmt::format("index commit of {} instance(s)", rows.size())};
  policy.in_doubt = ErrorCode::kCommitInDoubt;
  // A value PostgreSQL cannot store (SQLSTATE class 22): the data is bad.
  policy.data_exception = ErrorCode::kInvalidInput;
  const std::string now = FormatUtcMicroseconds(Now());
  std::unordered_map<std::string, KnownSeries> learned;
  // Every series remembered (the usual case once a series has begun): the
  // batch is one statement, its own transaction (no BEGIN and COMMIT round
  // trips). Rows whose series turned out to be gone are written again, in
  // full, by a second batch.
  const std::vector<std::optional<std::int64_t>> remembered = RememberedSeries(rows);
  const bool single_statement = std::all_of(remembered.begin(), remembered.end(),
                                            [](const auto& series_id) { return series_id; });
  std::vector<std::optional<IndexOutcome>> written;
  try {
    // Safe to re-run: the rows, the series learned and the counters are
    // this attempt's own; only stale remembered series are forgotten.
    const auto body = [&](pqxx::transaction_base& transaction) {
      learned.clear();
      BatchInserter inserter{*this, transaction, rows, now, learned, remembered, {}};
      inserter.Run(!single_statement);
      written = std::move(inserter.outcomes);
    };
    if (single_statement) {
      sql::Transact<pqxx::nontransaction>(database_, policy, body);
    } else {
      sql::Transact<pqxx::work>(database_, policy, body);
    }
  } catch (const Error&) {
    // Whatever failed may have been a remembered series that is gone.
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    known_series_.clear();
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    if (known_series_.size() + learned.size() > kMaxKnownSeries) known_series_.clear();
    for (auto& [key, series] : learned) known_series_[key] = std::move(series);
  }
  return CompleteOutcomes(rows, written);
}

std::vector<IndexOutcome> InstanceIndex::CompleteOutcomes(
    const std::vector<const NewInstanceRow*>& rows,
    const std::vector<std::optional<IndexOutcome>>& written) {
  std::vector<const NewInstanceRow*> again;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!written[i]) again.push_back(rows[i]);
  }
  // Their series are forgotten now, so this batch writes them in full.
  const std::vector<IndexOutcome> rewritten = again.empty() ? std::vector<IndexOutcome>() : InsertBatch(again);
  std::vector<IndexOutcome> outcomes;
  std::size_t next = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    outcomes.push_back(written[i] ? *written[i] : rewritten.at(next++));
  }
  return outcomes;
}

std::int64_t InstanceIndex::FoldUsageDeltas() {
  return sql::ReadWrite(database_, "folding facility usage deltas", [](pqxx::work& transaction) {
    return sql::Exec(transaction, sql::kFoldUsageDeltas)[0][0].as<std::int64_t>();
  });
}

}  // namespace hokan::archive
