#include "archive/index/instance_index.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>


#include "archive/common/error.h"
#include "archive/common/clock.h"
#include "archive/common/log.h"
#include "archive/index/audit_log.h"

namespace hokan::archive {
namespace {

constexpr std::size_t kMaxKnownSeries = 10000;

// The first column of the first row of a prepared read, or nullopt.
template <typename... Args>
std::optional<std::string> ReadOptionalText(pqxx::connection& connection,
                                            const std::string& statement, Args&&... args) {
  pqxx::read_transaction transaction(connection);
  const pqxx::result result = transaction.exec_prepared(statement, std::forward<Args>(args)...);
  if (result.empty()) return std::nullopt;
  return result[0][0].as<std::string>();
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

void InstanceIndex::PrepareStatements(pqxx::connection& connection) {
  connection.prepare("hokan_find_caller",
      "SELECT ae.facility_id, f.name, ae.may_store, "
      "       (cardinality(ae.allowed_networks) = 0 OR "
      "        COALESCE(NULLIF($2, '')::inet <<= ANY (ae.allowed_networks), false)) "
      "FROM application_entities ae JOIN facilities f ON f.id = ae.facility_id "
      "WHERE ae.ae_title = $1 AND ae.enabled");
  connection.prepare("hokan_find_instance_checksum",
      "SELECT checksum_sha256 FROM instances WHERE facility_id = $1 AND sop_instance_uid = $2");
  connection.prepare("hokan_checksum_at",
      "SELECT checksum_sha256 FROM instances WHERE relative_path = $1");
  // Removes an instance row with the counters and usage it added.
  connection.prepare("hokan_remove_instance_at", R"sql(
WITH removed AS (
  DELETE FROM instances WHERE relative_path = $1
  RETURNING facility_id, series_fk, size_bytes
), series_counted AS (
  UPDATE series e SET number_of_instances = e.number_of_instances - 1
    FROM removed r WHERE e.id = r.series_fk
  RETURNING e.study_fk
), study_counted AS (
  UPDATE studies s SET number_of_instances = s.number_of_instances - 1,
                       size_bytes = s.size_bytes - r.size_bytes
    FROM removed r, series_counted c WHERE s.id = c.study_fk
  RETURNING s.number_of_instances
)
UPDATE facility_usage u SET used_bytes = u.used_bytes - r.size_bytes,
                            instances = u.instances - 1,
                            studies = u.studies - (SELECT count(*) FROM study_counted
                                                    WHERE number_of_instances = 0),
                            updated_at = $2::timestamptz
  FROM removed r WHERE u.facility_id = r.facility_id
)sql");
  // Adds an instance with its patient, study and series in one statement.
  // Patient, study and series rows are written only when the instance is new
  // and only when a value differs (no dead tuples for the usual repeat); the
  // UNION ALL falls back to the existing row when nothing was written.
  // $37 is hokan's "now" (created, updated and received times).
  // Returns (checksum of an existing instance, id of the inserted one).
  connection.prepare("hokan_insert_instance", R"sql(
WITH existing AS (
  SELECT checksum_sha256 FROM instances WHERE facility_id = $1 AND sop_instance_uid = $20
), patient_written AS (
  INSERT INTO patients AS p (facility_id, patient_id, issuer_of_patient_id, patient_name,
                             patient_birth_date, patient_sex, specific_character_set,
                             other_patient_ids, created_at, updated_at)
  SELECT $1, $2, $3, $4, $5, $6, $7, $31::jsonb, $37::timestamptz, $37::timestamptz
   WHERE NOT EXISTS (SELECT 1 FROM existing)
  ON CONFLICT (facility_id, patient_id) DO UPDATE SET
    issuer_of_patient_id = EXCLUDED.issuer_of_patient_id,
    patient_name = EXCLUDED.patient_name,
    patient_birth_date = EXCLUDED.patient_birth_date,
    patient_sex = EXCLUDED.patient_sex,
    specific_character_set = EXCLUDED.specific_character_set,
    other_patient_ids = EXCLUDED.other_patient_ids,
    updated_at = EXCLUDED.updated_at
  WHERE (p.issuer_of_patient_id, p.patient_name, p.patient_birth_date, p.patient_sex,
         p.specific_character_set, p.other_patient_ids)
        IS DISTINCT FROM
        (EXCLUDED.issuer_of_patient_id, EXCLUDED.patient_name, EXCLUDED.patient_birth_date,
         EXCLUDED.patient_sex, EXCLUDED.specific_character_set, EXCLUDED.other_patient_ids)
  RETURNING id
), patient AS (
  SELECT id FROM patient_written
  UNION ALL
  SELECT id FROM patients
   WHERE facility_id = $1 AND patient_id = $2 AND NOT EXISTS (SELECT 1 FROM existing)
  LIMIT 1
), study_written AS (
  INSERT INTO studies AS s (facility_id, patient_fk, study_instance_uid, study_date, study_time,
                            accession_number, study_id, study_description,
                            referring_physician_name, modalities_in_study,
                            specific_character_set, procedure_codes, created_at, updated_at)
  SELECT $1, patient.id, $8, $9, $10, $11, $12, $13, $14,
         CASE WHEN $15::text = '' THEN '{}'::text[] ELSE ARRAY[$15::text] END, $7,
         $32::jsonb, $37::timestamptz, $37::timestamptz
    FROM patient
  ON CONFLICT (facility_id, study_instance_uid) DO UPDATE SET
    patient_fk = EXCLUDED.patient_fk,
    study_date = EXCLUDED.study_date,
    study_time = EXCLUDED.study_time,
    accession_number = EXCLUDED.accession_number,
    study_id = EXCLUDED.study_id,
    study_description = EXCLUDED.study_description,
    referring_physician_name = EXCLUDED.referring_physician_name,
    modalities_in_study = CASE WHEN $15::text = '' OR $15::text = ANY (s.modalities_in_study)
                               THEN s.modalities_in_study
                               ELSE s.modalities_in_study || $15::text END,
    specific_character_set = EXCLUDED.specific_character_set,
    procedure_codes = EXCLUDED.procedure_codes,
    updated_at = EXCLUDED.updated_at
  WHERE (s.patient_fk, s.study_date, s.study_time, s.accession_number, s.study_id,
         s.study_description, s.referring_physician_name, s.specific_character_set,
         s.procedure_codes)
        IS DISTINCT FROM
        (EXCLUDED.patient_fk, EXCLUDED.study_date, EXCLUDED.study_time,
         EXCLUDED.accession_number, EXCLUDED.study_id, EXCLUDED.study_description,
         EXCLUDED.referring_physician_name, EXCLUDED.specific_character_set,
         EXCLUDED.procedure_codes)
     OR NOT ($15::text = '' OR $15::text = ANY (s.modalities_in_study))
  RETURNING id
), study AS (
  SELECT id FROM study_written
  UNION ALL
  SELECT id FROM studies
   WHERE facility_id = $1 AND study_instance_uid = $8 AND EXISTS (SELECT 1 FROM patient)
  LIMIT 1
), series_written AS (
  INSERT INTO series AS e (facility_id, study_fk, series_instance_uid, modality, series_number,
                           series_description, body_part_examined, request_attributes,
                           created_at, updated_at)
  SELECT $1, study.id, $16, $15, $17, $18, $19, $33::jsonb, $37::timestamptz, $37::timestamptz
    FROM study
  ON CONFLICT (facility_id, series_instance_uid) DO UPDATE SET
    study_fk = EXCLUDED.study_fk,
    modality = EXCLUDED.modality,
    series_number = EXCLUDED.series_number,
    series_description = EXCLUDED.series_description,
    body_part_examined = EXCLUDED.body_part_examined,
    request_attributes = EXCLUDED.request_attributes,
    updated_at = EXCLUDED.updated_at
  WHERE (e.study_fk, e.modality, e.series_number, e.series_description, e.body_part_examined,
         e.request_attributes)
        IS DISTINCT FROM
        (EXCLUDED.study_fk, EXCLUDED.modality, EXCLUDED.series_number,
         EXCLUDED.series_description, EXCLUDED.body_part_examined, EXCLUDED.request_attributes)
  RETURNING id, (xmax = 0) AS created
), series_row AS (
  SELECT id, created FROM series_written
  UNION ALL
  SELECT id, false FROM series
   WHERE facility_id = $1 AND series_instance_uid = $16 AND EXISTS (SELECT 1 FROM study)
  LIMIT 1
), inserted AS (
  INSERT INTO instances (facility_id, series_fk, sop_instance_uid, sop_class_uid,
                         instance_number, number_of_frames, rows, columns,
                         specific_character_set, transfer_syntax_uid, relative_path,
                         size_bytes, checksum_sha256, calling_ae, expires_at, storage_rule_id,
                         tier, received_at)
  SELECT $1, series_row.id, $20, $21, $22, NULLIF($23::integer, -1),
         NULLIF($24::integer, -1), NULLIF($25::integer, -1), $7, $26, $27, $28, $29, $30,
         $34::timestamptz, $35::bigint, $36, $37::timestamptz
    FROM series_row
  ON CONFLICT (facility_id, sop_instance_uid) DO NOTHING
  RETURNING id
)
SELECT (SELECT checksum_sha256 FROM existing), (SELECT id FROM inserted),
       (SELECT id FROM series_row), (SELECT created FROM series_row)
)sql");

  // Counters, study expiry and facility usage for a batch's new instances:
  // $1 series ids, $2 sizes, $3 expiries ('infinity' = kept forever), $4
  // whether the instance created its series; arrays of equal length; $5
  // hokan's "now". A study's expires_at is the latest of its instances'
  // (NULL, forever, wins).
  connection.prepare("hokan_count_added_instances", R"sql(
WITH added AS (
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::boolean[])
           AS a(series_id, size_bytes, expires_at, new_series)
), per_series AS (
  UPDATE series e SET number_of_instances = e.number_of_instances + a.instances
    FROM (SELECT series_id, count(*) AS instances FROM added GROUP BY series_id) a
   WHERE e.id = a.series_id
  RETURNING e.id, e.study_fk
), per_study AS (
  SELECT p.study_fk, count(*) AS instances, sum(a.size_bytes) AS size_bytes,
         count(*) FILTER (WHERE a.new_series) AS new_series, max(a.expires_at) AS latest
    FROM added a JOIN per_series p ON p.id = a.series_id
   GROUP BY p.study_fk
), studies_counted AS (
  UPDATE studies s SET
    number_of_instances = s.number_of_instances + c.instances,
    number_of_series = s.number_of_series + c.new_series,
    size_bytes = s.size_bytes + c.size_bytes,
    expires_at = NULLIF(CASE WHEN s.number_of_instances = 0 THEN c.latest
                             ELSE greatest(COALESCE(s.expires_at, 'infinity'), c.latest) END,
                        'infinity'),
    last_received_at = $5::timestamptz
    FROM per_study c
   WHERE s.id = c.study_fk
  RETURNING s.facility_id, c.instances, c.size_bytes,
            (s.number_of_instances = c.instances) AS new_study
)
INSERT INTO facility_usage AS u (facility_id, used_bytes, studies, instances, updated_at)
SELECT facility_id, sum(size_bytes), count(*) FILTER (WHERE new_study), sum(instances),
       $5::timestamptz
  FROM studies_counted GROUP BY facility_id
ON CONFLICT (facility_id) DO UPDATE SET
  used_bytes = u.used_bytes + EXCLUDED.used_bytes,
  studies = u.studies + EXCLUDED.studies,
  instances = u.instances + EXCLUDED.instances,
  updated_at = EXCLUDED.updated_at
)sql");

  // The instance alone, into a series this node knows is current; $18 is
  // hokan's "now" (received time).
  connection.prepare("hokan_insert_instance_into_series", R"sql(
WITH existing AS (
  SELECT checksum_sha256 FROM instances WHERE facility_id = $1 AND sop_instance_uid = $3
), inserted AS (
  INSERT INTO instances (facility_id, series_fk, sop_instance_uid, sop_class_uid,
                         instance_number, number_of_frames, rows, columns,
                         specific_character_set, transfer_syntax_uid, relative_path,
                         size_bytes, checksum_sha256, calling_ae, expires_at, storage_rule_id,
                         tier, received_at)
  SELECT $1, $2, $3, $4, $5, NULLIF($6::integer, -1), NULLIF($7::integer, -1),
         NULLIF($8::integer, -1), $9, $10, $11, $12, $13, $14, $15::timestamptz, $16::bigint,
         $17, $18::timestamptz
   WHERE NOT EXISTS (SELECT 1 FROM existing)
     AND EXISTS (SELECT 1 FROM series WHERE id = $2)  -- not expired since remembered
  ON CONFLICT (facility_id, sop_instance_uid) DO NOTHING
  RETURNING id
)
SELECT (SELECT checksum_sha256 FROM existing), (SELECT id FROM inserted)
)sql");
}

IndexOutcome InstanceIndex::InsertRow(pqxx::work& transaction, const NewInstanceRow& row,
                                      const std::string& now,
                                      std::unordered_map<std::string, KnownSeries>& learned,
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
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    const auto known = known_series_.find(key);
    if (known != known_series_.end() && known->second.values == values) {
      known_series_id = known->second.series_id;
    }
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (known_series_id) {
      const auto result = transaction.exec_prepared(
          "hokan_insert_instance_into_series", row.facility_id, *known_series_id,
          a.sop_instance_uid, a.sop_class_uid, a.instance_number, a.number_of_frames, a.rows,
          a.columns, a.specific_character_set, a.transfer_syntax_uid, row.relative_path,
          static_cast<long long>(row.size_bytes), row.sha256_hex, row.calling_ae, expires_at,
          row.storage_rule_id, row.tier, now);
      if (auto outcome = OutcomeOf(result[0], row)) {
        if (*outcome == IndexOutcome::kInserted) added.Add(row, *known_series_id, false);
        return *outcome;
      }
      // The remembered series is gone (expired) or changed: write it in full.
      known_series_id.reset();
      std::lock_guard<std::mutex> lock(known_series_mutex_);
      known_series_.erase(key);
      learned.erase(key);
      continue;
    }
    const auto result = transaction.exec_prepared(
        "hokan_insert_instance", row.facility_id, a.patient_id, a.issuer_of_patient_id,
        a.patient_name, a.patient_birth_date, a.patient_sex, a.specific_character_set,
        a.study_instance_uid, a.study_date, a.study_time, a.accession_number, a.study_id,
        a.study_description, a.referring_physician_name, a.modality, a.series_instance_uid,
        a.series_number, a.series_description, a.body_part_examined, a.sop_instance_uid,
        a.sop_class_uid, a.instance_number, a.number_of_frames, a.rows, a.columns,
        a.transfer_syntax_uid, row.relative_path, static_cast<long long>(row.size_bytes),
        row.sha256_hex, row.calling_ae, JsonItems(a.other_patient_ids),
        JsonItems(a.procedure_codes), JsonItems(a.request_attributes), expires_at,
        row.storage_rule_id, row.tier, now);
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

void InstanceIndex::ProvisionContract(pqxx::work& transaction, const FacilityConfig& facility,
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

void InstanceIndex::SyncConfiguredFacilities(const std::vector<FacilityConfig>& facilities) {
  WithConnection(database_, "syncing configured facilities", [&](pqxx::connection& connection) {
    const TimePoint clock = Now();
    const std::string now = FormatUtcMicroseconds(clock);
    pqxx::work transaction(connection);
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
    transaction.commit();
  });
}

std::optional<Caller> InstanceIndex::FindCaller(const std::string& ae_title,
                                                const std::string& peer_address) {
  boost::system::error_code parse_error;
  boost::asio::ip::make_address(peer_address, parse_error);
  const std::string checked_peer = parse_error ? std::string() : peer_address;
  return WithConnection(
      database_, fmt::format("looking up calling AE title '{}'", ae_title),
      [&](pqxx::connection& connection) -> std::optional<Caller> {
        pqxx::read_transaction transaction(connection);
        const auto result = transaction.exec_prepared("hokan_find_caller", ae_title, checked_peer);
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
  return WithConnection(
      database_, fmt::format("looking up move destination '{}'", ae_title),
      [&](pqxx::connection& connection) -> std::optional<MoveDestination> {
        pqxx::read_transaction transaction(connection);
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
  return WithConnection(database_, fmt::format("looking up instance {}", sop_instance_uid),
                        [&](pqxx::connection& connection) {
                          return ReadOptionalText(connection, "hokan_find_instance_checksum",
                                                  facility_id, sop_instance_uid);
                        });
}

std::optional<std::string> InstanceIndex::ChecksumAt(const std::string& relative_path) {
  return WithConnection(database_, fmt::format("looking up {}", relative_path),
                        [&](pqxx::connection& connection) {
                          return ReadOptionalText(connection, "hokan_checksum_at", relative_path);
                        });
}

void InstanceIndex::RemoveInstanceAt(const std::string& relative_path) {
  WithConnection(database_, fmt::format("removing the row of {}", relative_path),
                 [&](pqxx::connection& connection) {
                   pqxx::work transaction(connection);
                   transaction.exec_prepared("hokan_remove_instance_at", relative_path,
                                             FormatUtcMicroseconds(Now()));
                   transaction.commit();
                 });
}

std::vector<IndexOutcome> InstanceIndex::InsertBatch(
    const std::vector<const NewInstanceRow*>& rows) {
  auto lease = database_.Acquire();
  // Whatever failed may have been a remembered series that is gone.
  auto forget_known_series = [this] {
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    known_series_.clear();
  };
  try {
    const std::string now = FormatUtcMicroseconds(Now());
    pqxx::work transaction(lease.connection());
    std::vector<IndexOutcome> outcomes;
    outcomes.reserve(rows.size());
    std::unordered_map<std::string, KnownSeries> learned;
    AddedInstances added;
    for (const NewInstanceRow* row : rows) {
      outcomes.push_back(InsertRow(transaction, *row, now, learned, added));
    }
    // Last, so the facility_usage row is locked only until COMMIT.
    if (!added.series_ids.empty()) {
      transaction.exec_prepared("hokan_count_added_instances", added.SeriesIds(),
                                added.Sizes(), added.Expiries(), added.NewSeries(), now);
    }
    transaction.commit();
    std::lock_guard<std::mutex> lock(known_series_mutex_);
    if (known_series_.size() + learned.size() > kMaxKnownSeries) known_series_.clear();
    for (auto& [key, series] : learned) known_series_[key] = std::move(series);
    return outcomes;
  } catch (const pqxx::in_doubt_error& error) {
    forget_known_series();
    lease.MarkBroken();
    throw Error(ErrorCode::kCommitInDoubt,
                fmt::format("index commit outcome unknown: {}", error.what()));
  } catch (const pqxx::broken_connection& error) {
    forget_known_series();
    lease.MarkBroken();
    throw Error(ErrorCode::kDatabase, fmt::format("index commit failed: {}", error.what()));
  } catch (const pqxx::data_exception& error) {
    forget_known_series();
    // A value PostgreSQL cannot store (SQLSTATE class 22): the data is bad.
    throw Error(ErrorCode::kInvalidInput, fmt::format("index refused a value: {}", error.what()));
  } catch (const pqxx::failure& error) {
    forget_known_series();
    throw Error(ErrorCode::kDatabase, fmt::format("index commit failed: {}", error.what()));
  } catch (const Error&) {
    forget_known_series();
    throw;
  }
}

}  // namespace hokan::archive
