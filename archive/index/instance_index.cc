#include "archive/index/instance_index.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <map>
#include <tuple>

#include "archive/common/error.h"
#include "archive/common/log.h"

namespace hokan::archive {
namespace {

// A PostgreSQL array literal of text values, e.g. {"a","b"}.
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) literal += ',';
    literal += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  return literal + "}";
}

// Entity ids already upserted in the current transaction.
struct BatchCache {
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> patients;
  std::map<std::tuple<std::int64_t, std::string, std::string>, std::int64_t> studies;
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> series;
};

IndexOutcome InsertRow(pqxx::work& transaction, const NewInstanceRow& row, BatchCache& cache) {
  const InstanceAttributes& a = row.attributes;
  const auto existing = transaction.exec_prepared("hokan_find_instance_checksum",
                                                  row.facility_id, a.sop_instance_uid);
  if (!existing.empty()) {
    return existing[0][0].as<std::string>() == row.sha256_hex
               ? IndexOutcome::kExistsSameContent
               : IndexOutcome::kExistsDifferentContent;
  }

  auto patient = cache.patients.find({row.facility_id, a.patient_id});
  if (patient == cache.patients.end()) {
    const auto result = transaction.exec_prepared(
        "hokan_upsert_patient", row.facility_id, a.patient_id, a.issuer_of_patient_id,
        a.patient_name, a.patient_birth_date, a.patient_sex, a.specific_character_set);
    patient = cache.patients.emplace(std::make_pair(row.facility_id, a.patient_id),
                                     result[0][0].as<std::int64_t>()).first;
  }
  auto study = cache.studies.find({row.facility_id, a.study_instance_uid, a.modality});
  if (study == cache.studies.end()) {
    const auto result = transaction.exec_prepared(
        "hokan_upsert_study", row.facility_id, patient->second, a.study_instance_uid,
        a.study_date, a.study_time, a.accession_number, a.study_id, a.study_description,
        a.referring_physician_name, a.modality, a.specific_character_set);
    study = cache.studies.emplace(std::make_tuple(row.facility_id, a.study_instance_uid,
                                                  a.modality),
                                  result[0][0].as<std::int64_t>()).first;
  }
  auto series = cache.series.find({row.facility_id, a.series_instance_uid});
  if (series == cache.series.end()) {
    const auto result = transaction.exec_prepared(
        "hokan_upsert_series", row.facility_id, study->second, a.series_instance_uid,
        a.modality, a.series_number, a.series_description, a.body_part_examined);
    series = cache.series.emplace(std::make_pair(row.facility_id, a.series_instance_uid),
                                  result[0][0].as<std::int64_t>()).first;
  }
  const auto inserted = transaction.exec_prepared(
      "hokan_insert_instance", row.facility_id, series->second, a.sop_instance_uid,
      a.sop_class_uid, a.instance_number, a.number_of_frames, a.rows, a.columns,
      a.specific_character_set, a.transfer_syntax_uid, row.relative_path,
      static_cast<long long>(row.size_bytes), row.sha256_hex, row.calling_ae);
  if (!inserted.empty()) return IndexOutcome::kInserted;

  // Another node committed the same SOP Instance UID meanwhile.
  const auto winner = transaction.exec_prepared("hokan_find_instance_checksum",
                                                row.facility_id, a.sop_instance_uid);
  if (!winner.empty() && winner[0][0].as<std::string>() == row.sha256_hex) {
    return IndexOutcome::kExistsSameContent;
  }
  return IndexOutcome::kExistsDifferentContent;
}

}  // namespace

void InstanceIndex::PrepareStatements(pqxx::connection& connection) {
  connection.prepare("hokan_find_store_caller",
      "SELECT ae.facility_id, f.name, "
      "       (cardinality(ae.allowed_networks) = 0 OR "
      "        COALESCE(NULLIF($2, '')::inet <<= ANY (ae.allowed_networks), false)) "
      "FROM application_entities ae JOIN facilities f ON f.id = ae.facility_id "
      "WHERE ae.ae_title = $1 AND ae.enabled AND ae.may_store");
  connection.prepare("hokan_find_instance_checksum",
      "SELECT checksum_sha256 FROM instances WHERE facility_id = $1 AND sop_instance_uid = $2");
  connection.prepare("hokan_is_indexed", "SELECT 1 FROM instances WHERE relative_path = $1");
  connection.prepare("hokan_upsert_patient",
      "INSERT INTO patients (facility_id, patient_id, issuer_of_patient_id, patient_name,"
      "                      patient_birth_date, patient_sex, specific_character_set)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7)"
      " ON CONFLICT (facility_id, patient_id) DO UPDATE SET"
      "  issuer_of_patient_id = EXCLUDED.issuer_of_patient_id,"
      "  patient_name = EXCLUDED.patient_name,"
      "  patient_birth_date = EXCLUDED.patient_birth_date,"
      "  patient_sex = EXCLUDED.patient_sex,"
      "  specific_character_set = EXCLUDED.specific_character_set,"
      "  updated_at = now()"
      " RETURNING id");
  connection.prepare("hokan_upsert_study",
      "INSERT INTO studies (facility_id, patient_fk, study_instance_uid, study_date, study_time,"
      "                     accession_number, study_id, study_description,"
      "                     referring_physician_name, modalities_in_study, specific_character_set)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
      "         CASE WHEN $10::text = '' THEN '{}'::text[] ELSE ARRAY[$10::text] END, $11)"
      " ON CONFLICT (facility_id, study_instance_uid) DO UPDATE SET"
      "  patient_fk = EXCLUDED.patient_fk,"
      "  study_date = EXCLUDED.study_date,"
      "  study_time = EXCLUDED.study_time,"
      "  accession_number = EXCLUDED.accession_number,"
      "  study_id = EXCLUDED.study_id,"
      "  study_description = EXCLUDED.study_description,"
      "  referring_physician_name = EXCLUDED.referring_physician_name,"
      "  modalities_in_study = CASE"
      "    WHEN $10::text = '' OR $10::text = ANY (studies.modalities_in_study)"
      "    THEN studies.modalities_in_study"
      "    ELSE studies.modalities_in_study || $10::text END,"
      "  specific_character_set = EXCLUDED.specific_character_set,"
      "  updated_at = now()"
      " RETURNING id");
  connection.prepare("hokan_upsert_series",
      "INSERT INTO series (facility_id, study_fk, series_instance_uid, modality, series_number,"
      "                    series_description, body_part_examined)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7)"
      " ON CONFLICT (facility_id, series_instance_uid) DO UPDATE SET"
      "  study_fk = EXCLUDED.study_fk,"
      "  modality = EXCLUDED.modality,"
      "  series_number = EXCLUDED.series_number,"
      "  series_description = EXCLUDED.series_description,"
      "  body_part_examined = EXCLUDED.body_part_examined,"
      "  updated_at = now()"
      " RETURNING id");
  connection.prepare("hokan_insert_instance",
      "INSERT INTO instances (facility_id, series_fk, sop_instance_uid, sop_class_uid,"
      "                       instance_number, number_of_frames, rows, columns,"
      "                       specific_character_set, transfer_syntax_uid, relative_path,"
      "                       size_bytes, checksum_sha256, calling_ae)"
      " VALUES ($1, $2, $3, $4, $5, NULLIF($6::integer, -1), NULLIF($7::integer, -1),"
      "         NULLIF($8::integer, -1), $9, $10, $11, $12, $13, $14)"
      " ON CONFLICT (facility_id, sop_instance_uid) DO NOTHING"
      " RETURNING id");
}

InstanceIndex::InstanceIndex(Database& database) : database_(database) {}

void InstanceIndex::SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities) {
  auto lease = database_.Acquire();
  try {
    pqxx::work transaction(lease.connection());
    std::vector<std::string> configured_aes;
    for (const auto& facility : facilities) {
      const auto row = transaction.exec_params(
          "INSERT INTO facilities (name) VALUES ($1)"
          " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
          facility.name);
      const auto facility_id = row[0][0].as<std::int64_t>();
      for (const auto& ae : facility.store_ae_titles) {
        transaction.exec_params(
            "INSERT INTO application_entities"
            "  (ae_title, facility_id, role, allowed_networks, may_store, source, enabled)"
            " VALUES ($1, $2, 'modality', $3::cidr[], true, 'config', true)"
            " ON CONFLICT (ae_title) DO UPDATE SET facility_id = EXCLUDED.facility_id,"
            "  allowed_networks = EXCLUDED.allowed_networks, may_store = true,"
            "  source = 'config', enabled = true, updated_at = now()",
            ae, facility_id, ArrayLiteral(facility.allowed_peers));
        configured_aes.push_back(ae);
      }
    }
    transaction.exec_params(
        "UPDATE application_entities SET enabled = false, updated_at = now()"
        " WHERE source = 'config' AND enabled AND NOT (ae_title = ANY ($1::text[]))",
        ArrayLiteral(configured_aes));
    transaction.commit();
  } catch (const pqxx::failure& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase,
                fmt::format("syncing configured facilities: {}", error.what()));
  }
}

std::optional<StoreCaller> InstanceIndex::FindStoreCaller(const std::string& ae_title,
                                                          const std::string& peer_address) {
  boost::system::error_code parse_error;
  boost::asio::ip::make_address(peer_address, parse_error);
  const std::string checked_peer = parse_error ? std::string() : peer_address;
  auto lease = database_.Acquire();
  try {
    pqxx::read_transaction transaction(lease.connection());
    const auto result =
        transaction.exec_prepared("hokan_find_store_caller", ae_title, checked_peer);
    if (result.empty()) return std::nullopt;
    StoreCaller caller;
    caller.facility_id = result[0][0].as<std::int64_t>();
    caller.facility_name = result[0][1].as<std::string>();
    caller.peer_allowed = result[0][2].as<bool>();
    return caller;
  } catch (const pqxx::failure& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase,
                fmt::format("looking up calling AE title '{}': {}", ae_title, error.what()));
  }
}

std::optional<std::string> InstanceIndex::FindChecksum(std::int64_t facility_id,
                                                       const std::string& sop_instance_uid) {
  auto lease = database_.Acquire();
  try {
    pqxx::read_transaction transaction(lease.connection());
    const auto result = transaction.exec_prepared("hokan_find_instance_checksum", facility_id,
                                                  sop_instance_uid);
    if (result.empty()) return std::nullopt;
    return result[0][0].as<std::string>();
  } catch (const pqxx::failure& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase,
                fmt::format("looking up instance {}: {}", sop_instance_uid, error.what()));
  }
}

bool InstanceIndex::IsIndexed(const std::string& relative_path) {
  auto lease = database_.Acquire();
  try {
    pqxx::read_transaction transaction(lease.connection());
    return !transaction.exec_prepared("hokan_is_indexed", relative_path).empty();
  } catch (const pqxx::failure& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase,
                fmt::format("looking up {}: {}", relative_path, error.what()));
  }
}

std::vector<IndexOutcome> InstanceIndex::InsertBatch(
    const std::vector<const NewInstanceRow*>& rows) {
  auto lease = database_.Acquire();
  try {
    pqxx::work transaction(lease.connection());
    BatchCache cache;
    std::vector<IndexOutcome> outcomes;
    outcomes.reserve(rows.size());
    for (const NewInstanceRow* row : rows) outcomes.push_back(InsertRow(transaction, *row, cache));
    transaction.commit();
    return outcomes;
  } catch (const pqxx::in_doubt_error& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kCommitInDoubt,
                fmt::format("index commit outcome unknown: {}", error.what()));
  } catch (const pqxx::broken_connection& error) {
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase, fmt::format("index commit failed: {}", error.what()));
  } catch (const pqxx::data_exception& error) {
    // A value PostgreSQL cannot store (SQLSTATE class 22): the data is bad.
    throw Error(ErrorCode::kInvalidInput, fmt::format("index refused a value: {}", error.what()));
  } catch (const pqxx::failure& error) {
    throw Error(ErrorCode::kDatabase, fmt::format("index commit failed: {}", error.what()));
  }
}

}  // namespace hokan::archive
