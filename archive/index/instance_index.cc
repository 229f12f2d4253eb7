#include "archive/index/instance_index.h"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/instance_statements.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {
namespace {

constexpr std::size_t kMaxKnownSeries = 10000;

// The first column of the first row of a prepared read, or nullopt.
template <typename... Args>
std::optional<std::string> ReadOptionalText(Database& database, const std::string& what,
                                            const sql::Statement& statement, Args&&... args) {
  return sql::ReadOnly(database, what, [&](pqxx::read_transaction& transaction) {
    const pqxx::result result = sql::Exec(transaction, statement, args...);
    if (result.empty()) return std::optional<std::string>();
    return std::optional<std::string>(result[0][0].as<std::string>());
  });
}

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

// The outcome from (checksum of an existing instance, id of the inserted
// one); nullopt when a concurrent transaction committed a row this
// statement's snapshot could not see (the caller runs it again).
std::optional<IndexOutcome> OutcomeOf(const pqxx::row& result, const NewInstanceRow& row) {
  if (!result[0].is_null()) {
    return result[0].as<std::string>() == row.sha256_hex ? IndexOutcome::kExistsSameContent
                                                         : IndexOutcome::kExistsDifferentContent;
  }
  if (!result[1].is_null()) return IndexOutcome::kInserted;
  return std::nullopt;
}

}  // namespace

// One row of a batch, in the batch's transaction (see InsertBatch).
struct InstanceIndex::BatchInserter {
  static IndexOutcome InsertRow(InstanceIndex& index, pqxx::work& transaction,
                                const NewInstanceRow& row, const std::string& now,
                                std::unordered_map<std::string, KnownSeries>& learned,
                                AddedInstances& added);
};

IndexOutcome InstanceIndex::BatchInserter::InsertRow(
    InstanceIndex& index, pqxx::work& transaction, const NewInstanceRow& row,
    const std::string& now, std::unordered_map<std::string, KnownSeries>& learned,
    AddedInstances& added) {
  const InstanceAttributes& a = row.attributes;
  const std::optional<std::string> expires_at =
      row.expires_at ? std::optional<std::string>(FormatUtc(*row.expires_at)) : std::nullopt;
  const std::string key = SeriesKey(row);
  const std::string values = SeriesValues(a);
  std::optional<std::int64_t> known_series_id;
  if (const auto found = learned.find(key); found != learned.end() && found->second.values == values) {
    known_series_id = found->second.series_id;
  } else {
    std::lock_guard<std::mutex> lock(index.known_series_mutex_);
    const auto known = index.known_series_.find(key);
    if (known != index.known_series_.end() && known->second.values == values) {
      known_series_id = known->second.series_id;
    }
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (known_series_id) {
      const auto result =
          sql::Exec(transaction, sql::kInsertInstanceIntoSeries, row.facility_id, *known_series_id,
                    a.sop_instance_uid, a.sop_class_uid, a.instance_number, a.number_of_frames,
                    a.rows, a.columns, a.specific_character_set, a.transfer_syntax_uid,
                    row.relative_path, static_cast<long long>(row.size_bytes), row.sha256_hex,
                    row.calling_ae, expires_at, row.storage_rule_id, row.tier, now);
      if (auto outcome = OutcomeOf(result[0], row)) {
        if (*outcome == IndexOutcome::kInserted) added.Add(row, *known_series_id, false);
        return *outcome;
      }
      // The remembered series is gone (expired) or changed: write it in full.
      known_series_id.reset();
      std::lock_guard<std::mutex> lock(index.known_series_mutex_);
      index.known_series_.erase(key);
      learned.erase(key);
      continue;
    }
    const auto result =
        sql::Exec(transaction, sql::kInsertInstance, row.facility_id, a.patient_id,
                  a.issuer_of_patient_id, a.patient_name, a.patient_birth_date, a.patient_sex,
                  a.specific_character_set, a.study_instance_uid, a.study_date, a.study_time,
                  a.accession_number, a.study_id, a.study_description, a.referring_physician_name,
                  a.modality, a.series_instance_uid, a.series_number, a.series_description,
                  a.body_part_examined, a.sop_instance_uid, a.sop_class_uid, a.instance_number,
                  a.number_of_frames, a.rows, a.columns, a.transfer_syntax_uid, row.relative_path,
                  static_cast<long long>(row.size_bytes), row.sha256_hex, row.calling_ae,
                  JsonItems(a.other_patient_ids), JsonItems(a.procedure_codes),
                  JsonItems(a.request_attributes), expires_at, row.storage_rule_id, row.tier, now);
    const auto outcome = OutcomeOf(result[0], row);
    if (outcome == IndexOutcome::kInserted && !result[0][2].is_null()) {
      const auto series_id = result[0][2].as<std::int64_t>();
      learned[key] = KnownSeries{series_id, values};
      added.Add(row, series_id, result[0][3].as<bool>());
    }
    if (outcome) return *outcome;
  }
  throw Error(ErrorCode::kDatabase,
              fmt::format("instance {}: index rows changed concurrently twice",
                          a.sop_instance_uid));
}

InstanceIndex::InstanceIndex(Database& database) : database_(database) {}

namespace {

// The provisional contract, annual from the UTC day of `now`.
void ProvisionContract(pqxx::work& transaction, const FacilityConfig& facility,
                       std::int64_t facility_id, TimePoint now) {
  const std::string today = FormatUtc(now).substr(0, 10);
  const pqxx::result inserted = transaction.exec_params(
      "INSERT INTO contracts (facility_id, service_period, starts_on, ends_on, backup_timing, "
      "                       data_kept, quota_bytes, over_quota, service_class, "
      "                       default_storage_period, note, created_by, created_at) "
      "SELECT $1, 'annual', $2::date, ($2::date + interval '1 year' - interval '1 day')::date, "
      "       'on_receipt', 'all', $3, 'refuse', 'economy', 'forever', "
      "       'provisional contract from the configuration (provision_contract)', "
      "       'hokan-archive', $4::timestamptz "
      " WHERE NOT EXISTS (SELECT 1 FROM contracts WHERE facility_id = $1) "
      "RETURNING id",
      facility_id, today, facility.provision_quota_bytes, FormatUtcMicroseconds(now));
  if (inserted.empty()) return;
  const auto contract_id = inserted[0][0].as<std::int64_t>();
  RecordAudit(transaction,
              AuditEntry{"hokan-archive", "contract.provision", facility_id,
                         fmt::format("contract {}", contract_id),
                         fmt::format("annual from {} for one year, all data, quota {} bytes, "
                                     "economy, storage period forever",
                                     today, facility.provision_quota_bytes),
                         "provision_contract = true in the configuration"});
  Log(LogLevel::kInfo, "facility {}: provisional contract {} from {} (provision_contract)",
      facility.name, contract_id, today);
}

}  // namespace

void InstanceIndex::SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities) {
  const TimePoint clock = Now();
  const std::string now = FormatUtcMicroseconds(clock);
  sql::ReadWrite(database_, "syncing configured facilities", [&](pqxx::work& transaction) {
    std::vector<std::string> configured_aes;
    for (const auto& facility : facilities) {
      const auto row = transaction.exec_params(
          "INSERT INTO facilities (name, created_at) VALUES ($1, $2::timestamptz)"
          " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
          facility.name, now);
      const auto facility_id = row[0][0].as<std::int64_t>();
      const std::pair<const std::vector<std::string>*, bool> lists[] = {
          {&facility.store_ae_titles, true}, {&facility.query_ae_titles, false}};
      for (const auto& [titles, may_store] : lists) {
        for (const auto& ae : *titles) {
          transaction.exec_params(
              "INSERT INTO application_entities"
              "  (ae_title, facility_id, role, allowed_networks, may_store, source, enabled,"
              "   updated_at)"
              " VALUES ($1, $2, CASE WHEN $4 THEN 'modality' ELSE 'viewer' END, $3::cidr[],"
              "         $4, 'config', true, $5::timestamptz)"
              " ON CONFLICT (ae_title) DO UPDATE SET facility_id = EXCLUDED.facility_id,"
              "  role = EXCLUDED.role, allowed_networks = EXCLUDED.allowed_networks,"
              "  may_store = EXCLUDED.may_store, source = 'config', enabled = true,"
              "  updated_at = EXCLUDED.updated_at",
              ae, facility_id, TextArrayLiteral(facility.allowed_peers), may_store, now);
          configured_aes.push_back(ae);
        }
      }
      if (facility.provision_contract) {
        ProvisionContract(transaction, facility, facility_id, clock);
      }
      for (const auto& destination : facility.move_destinations) {
        // A destination AE title that also calls in keeps its role and rights.
        transaction.exec_params(
            "INSERT INTO application_entities"
            "  (ae_title, facility_id, role, host, port, may_store, source, enabled, updated_at)"
            " VALUES ($1, $2, 'destination', $3, $4, false, 'config', true, $5::timestamptz)"
            " ON CONFLICT (ae_title) DO UPDATE SET facility_id = EXCLUDED.facility_id,"
            "  host = EXCLUDED.host, port = EXCLUDED.port, source = 'config', enabled = true,"
            "  updated_at = EXCLUDED.updated_at",
            destination.ae_title, facility_id, destination.host, destination.port, now);
        configured_aes.push_back(destination.ae_title);
      }
      for (const auto& destination : facility.report_destinations) {
        // The address Storage Commitment reports for this store AE go to.
        transaction.exec_params(
            "UPDATE application_entities SET host = $3, port = $4, updated_at = $5::timestamptz"
            " WHERE ae_title = $1 AND facility_id = $2",
            destination.ae_title, facility_id, destination.host, destination.port, now);
      }
    }
    transaction.exec_params(
        "UPDATE application_entities SET enabled = false, updated_at = $2::timestamptz"
        " WHERE source = 'config' AND enabled AND NOT (ae_title = ANY ($1::text[]))",
        TextArrayLiteral(configured_aes), now);
  });
}

std::optional<Caller> InstanceIndex::FindCaller(const std::string& ae_title,
                                                const std::string& peer_address) {
  boost::system::error_code parse_error;
  boost::asio::ip::make_address(peer_address, parse_error);
  const std::string checked_peer = parse_error ? std::string() : peer_address;
  return sql::ReadOnly(database_, fmt::format("looking up calling AE title '{}'", ae_title),
                       [&](pqxx::read_transaction& transaction) -> std::optional<Caller> {
                         const auto result =
                             sql::Exec(transaction, sql::kFindCaller, ae_title, checked_peer);
                         if (result.empty()) return std::nullopt;
                         Caller caller;
                         caller.facility_id = result[0][0].as<std::int64_t>();
                         caller.facility_name = result[0][1].as<std::string>();
                         caller.may_store = result[0][2].as<bool>();
                         caller.peer_allowed = result[0][3].as<bool>();
                         return caller;
                       });
}

std::optional<MoveDestination> InstanceIndex::FindMoveDestination(const std::string& ae_title,
                                                                 std::int64_t facility_id) {
  return sql::ReadOnly(
      database_, fmt::format("looking up move destination '{}'", ae_title),
      [&](pqxx::read_transaction& transaction) -> std::optional<MoveDestination> {
        const auto result = transaction.exec_params(
            "SELECT host, port FROM application_entities"
            " WHERE ae_title = $1 AND facility_id = $2 AND enabled"
            "   AND host IS NOT NULL AND port IS NOT NULL",
            ae_title, facility_id);
        if (result.empty()) return std::nullopt;
        return MoveDestination{ae_title, result[0][0].as<std::string>(), result[0][1].as<int>()};
      });
}

std::optional<std::string> InstanceIndex::FindChecksum(std::int64_t facility_id,
                                                       const std::string& sop_instance_uid) {
  return ReadOptionalText(database_, fmt::format("looking up instance {}", sop_instance_uid),
                          sql::kFindInstanceChecksum, facility_id, sop_instance_uid);
}

std::optional<std::string> InstanceIndex::ChecksumAt(const std::string& relative_path) {
  return ReadOptionalText(database_, fmt::format("looking up {}", relative_path), sql::kChecksumAt,
                          relative_path);
}

void InstanceIndex::RemoveInstanceAt(const std::string& relative_path) {
  const std::string now = FormatUtcMicroseconds(Now());
  sql::ReadWrite(database_, fmt::format("removing the row of {}", relative_path),
                 [&](pqxx::work& transaction) {
                   sql::Exec(transaction, sql::kRemoveInstanceAt, relative_path, now);
                 });
}

std::vector<IndexOutcome> InstanceIndex::InsertBatch(
    const std::vector<const NewInstanceRow*>& rows) {
  sql::TransactionPolicy policy{fmt::format("index commit of {} instance(s)", rows.size())};
  policy.in_doubt = ErrorCode::kCommitInDoubt;
  // A value PostgreSQL cannot store (SQLSTATE class 22): the data is bad.
  policy.data_exception = ErrorCode::kInvalidInput;
  const std::string now = FormatUtcMicroseconds(Now());
  std::unordered_map<std::string, KnownSeries> learned;
  try {
    // Safe to re-run: the rows, the series learned and the counters are
    // this attempt's own; only stale remembered series are forgotten.
    auto outcomes = sql::Transact<pqxx::work>(database_, policy, [&](pqxx::work& transaction) {
      learned.clear();
      std::vector<IndexOutcome> batch_outcomes;
      batch_outcomes.reserve(rows.size());
      AddedInstances added;
      for (const NewInstanceRow* row : rows) {
        batch_outcomes.push_back(
            BatchInserter::InsertRow(*this, transaction, *row, now, learned, added));
      }
      // Last, so the facility_usage row is locked only until COMMIT.
      if (!added.series_ids.empty()) {
        sql::Exec(transaction, sql::kCountAddedInstances, added.SeriesIds(), added.Sizes(),
                  added.Expiries(), added.NewSeries(), now);
      }
      return batch_outcomes;
    });
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    if (known_series_.size() + learned.size() > kMaxKnownSeries) known_series_.clear();
    for (auto& [key, series] : learned) known_series_[key] = std::move(series);
    return outcomes;
  } catch (const Error&) {
    // Whatever failed may have been a remembered series that is gone.
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    known_series_.clear();
    throw;
  }
}

}  // namespace hokan::archive
