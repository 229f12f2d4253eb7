#include "archive/index/export_index.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"
#include "archive/model/export_cut_off.h"

namespace hokan::archive {
namespace {

// A timestamptz as UTC text with microseconds (how cut-offs travel).
#define HOKAN_UTC_MICROS(column) \
  "to_char((" column ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define HOKAN_UTC_SECONDS(column) \
  "to_char((" column ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// The current contract: not superseded, its dates hold the UTC date of $2.
constexpr const char* kCurrentContractSql =
    "SELECT f.name, c.service_class, COALESCE(to_char(c.export_at, 'HH24:MI:SS'), '') "
    "  FROM facilities f JOIN contracts c ON c.facility_id = f.id "
    " WHERE f.id = $1 AND c.superseded_at IS NULL "
    "   AND ($2::timestamptz AT TIME ZONE 'UTC')::date BETWEEN c.starts_on AND c.ends_on "
    " ORDER BY c.starts_on DESC LIMIT 1";

constexpr const char* kDeluxeFacilitiesSql =
    "SELECT f.id, f.name, to_char(c.export_at, 'HH24:MI:SS') "
    "  FROM facilities f JOIN contracts c ON c.facility_id = f.id "
    " WHERE c.superseded_at IS NULL AND c.service_class = 'deluxe' "
    "   AND ($1::timestamptz AT TIME ZONE 'UTC')::date BETWEEN c.starts_on AND c.ends_on "
    " ORDER BY f.id";

constexpr const char* kInstancesDueSql =
    "SELECT s.study_instance_uid, e.series_instance_uid, i.sop_instance_uid, i.relative_path, "
    "       i.size_bytes, " HOKAN_UTC_MICROS("s.last_received_at") " "
    "  FROM studies s JOIN series e ON e.study_fk = s.id JOIN instances i ON i.series_fk = e.id "
    " WHERE s.facility_id = $1 AND s.last_received_at <= $3::timestamptz "
    "   AND ($2::timestamptz IS NULL OR s.last_received_at > $2::timestamptz) "
    " ORDER BY s.last_received_at, s.id, e.id, "
    "          CASE WHEN i.instance_number ~ '^\\s*[+-]?[0-9]{1,9}\\s*$' "
    "               THEN btrim(i.instance_number)::integer END NULLS LAST, i.id";

constexpr const char* kRecordColumns =
    "SELECT e.id, e.facility_id, f.name, e.folder, " HOKAN_UTC_MICROS("e.cut_off") ", "
    "       COALESCE(" HOKAN_UTC_MICROS("e.previous_cut_off") ", ''), e.studies, e.instances, "
    "       e.bytes, e.refused_instances, " HOKAN_UTC_SECONDS("e.started_at") ", "
    "       " HOKAN_UTC_SECONDS("e.finished_at") ", e.node, e.actor "
    "  FROM offline_exports e JOIN facilities f ON f.id = e.facility_id ";

OfflineExportRecord RecordFrom(const pqxx::row& row) {
  OfflineExportRecord record;
  record.id = row[0].as<std::int64_t>();
  record.facility_id = row[1].as<std::int64_t>();
  record.facility_name = row[2].as<std::string>();
  record.folder = row[3].as<std::string>();
  record.cut_off = row[4].as<std::string>();
  record.previous_cut_off = row[5].as<std::string>();
  record.studies = row[6].as<int>();
  record.instances = row[7].as<int>();
  record.bytes = row[8].as<std::int64_t>();
  record.refused_instances = row[9].as<int>();
  record.started_at = row[10].as<std::string>();
  record.finished_at = row[11].as<std::string>();
  record.node = row[12].as<std::string>();
  record.actor = row[13].as<std::string>();
  return record;
}

TimePoint CutOffFrom(const std::string& text) {
  const auto cut_off = ParseCutOff(text);
  if (!cut_off)
    throw Error(ErrorCode::kInternal, fmt::format("stored cut-off '{}' does not parse", text));
  return *cut_off;
}

std::optional<std::string> NullIfEmpty(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

ExportIndex::ExportIndex(Database& database) : database_(database) {}

std::optional<std::int64_t> ExportIndex::FacilityId(const std::string& name) {
  return FindFacilityId(database_, name);
}

std::optional<ExportContract> ExportIndex::CurrentContract(std::int64_t facility_id,
                                                           TimePoint now) {
  return sql::ReadOnly(database_, fmt::format("read the contract of facility {}", facility_id),
                       [&](pqxx::read_transaction& transaction) {
                         const pqxx::result result = transaction.exec_params(
                             kCurrentContractSql, facility_id, FormatUtc(now));
                         if (result.empty()) return std::optional<ExportContract>();
                         return std::optional<ExportContract>(ExportContract{
                             result[0][0].as<std::string>(), result[0][1].as<std::string>(),
                             result[0][2].as<std::string>()});
                       });
}

std::vector<DeluxeFacility> ExportIndex::DeluxeFacilities(TimePoint now) {
  return sql::ReadOnly(
      database_, "list deluxe facilities", [&](pqxx::read_transaction& transaction) {
        std::vector<DeluxeFacility> facilities;
        for (const auto& row : transaction.exec_params(kDeluxeFacilitiesSql, FormatUtc(now))) {
          facilities.push_back(DeluxeFacility{row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                              row[2].as<std::string>()});
        }
        return facilities;
      });
}

std::optional<TimePoint> ExportIndex::LastCutOff(std::int64_t facility_id) {
  return sql::ReadOnly(
      database_, fmt::format("read the last export of facility {}", facility_id),
      [&](pqxx::read_transaction& transaction) {
        const pqxx::result result = transaction.exec_params(
            "SELECT " HOKAN_UTC_MICROS("max(cut_off)") " FROM offline_exports "
            "WHERE facility_id = $1",
            facility_id);
        if (result[0][0].is_null()) return std::optional<TimePoint>();
        return std::optional<TimePoint>(CutOffFrom(result[0][0].as<std::string>()));
      });
}

std::optional<OfflineExportRecord> ExportIndex::FindByCutOff(std::int64_t facility_id,
                                                             TimePoint cut_off) {
  return sql::ReadOnly(database_, fmt::format("find an export of facility {}", facility_id),
                       [&](pqxx::read_transaction& transaction) {
                         const pqxx::result result = transaction.exec_params(
                             std::string(kRecordColumns) +
                                 "WHERE e.facility_id = $1 AND e.cut_off = $2::timestamptz",
                             facility_id, FormatCutOff(cut_off));
                         if (result.empty()) return std::optional<OfflineExportRecord>();
                         return std::optional<OfflineExportRecord>(RecordFrom(result[0]));
                       });
}

std::vector<ExportSourceInstance> ExportIndex::InstancesDue(std::int64_t facility_id,
                                                            const std::optional<TimePoint>& after,
                                                            TimePoint until) {
  return sql::ReadOnly(
      database_, fmt::format("list the studies facility {} received for export", facility_id),
      [&](pqxx::read_transaction& transaction) {
        std::optional<std::string> after_text;
        if (after) after_text = FormatCutOff(*after);
        std::vector<ExportSourceInstance> instances;
        for (const auto& row : transaction.exec_params(kInstancesDueSql, facility_id, after_text,
                                                       FormatCutOff(until))) {
          instances.push_back(ExportSourceInstance{
              row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
              row[3].as<std::string>(), row[4].as<std::int64_t>(), row[5].as<std::string>()});
        }
        return instances;
      });
}

std::optional<std::int64_t> ExportIndex::Record(const OfflineExportRecord& record,
                                                const std::vector<ExportedStudy>& studies,
                                                const AuditEntry& audit) {
  return sql::ReadWrite(
      database_, fmt::format("record the export {}", record.folder), [&](pqxx::work& transaction) {
        // Serialises the exports of one facility without blocking ingest
        // (foreign-key checks take FOR KEY SHARE, which this does not block).
        transaction.exec_params("SELECT id FROM facilities WHERE id = $1 FOR NO KEY UPDATE",
                                record.facility_id);
        const pqxx::result latest = transaction.exec_params(
            "SELECT " HOKAN_UTC_MICROS("max(cut_off)") " FROM offline_exports "
            "WHERE facility_id = $1",
            record.facility_id);
        const std::string latest_text =
            latest[0][0].is_null() ? "" : latest[0][0].as<std::string>();
        if (latest_text != record.previous_cut_off) return std::optional<std::int64_t>();
        const std::int64_t id =
            transaction
                .exec_params(
                    "INSERT INTO offline_exports (facility_id, folder, cut_off, previous_cut_off, "
                    "  studies, instances, bytes, refused_instances, started_at, finished_at, "
                    "  node, actor) "
                    "VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7, $8, "
                    "  $9::timestamptz, $10::timestamptz, $11, $12) RETURNING id",
                    record.facility_id, record.folder, record.cut_off,
                    NullIfEmpty(record.previous_cut_off), record.studies, record.instances,
                    record.bytes, record.refused_instances, record.started_at, record.finished_at,
                    record.node, record.actor)[0][0]
                .as<std::int64_t>();
        std::vector<std::string> uids, folders, instances, bytes, received;
        for (const auto& study : studies) {
          uids.push_back(study.study_instance_uid);
          folders.push_back(study.media_folder);
          instances.push_back(std::to_string(study.instances));
          bytes.push_back(std::to_string(study.bytes));
          received.push_back(study.last_received_at);
        }
        transaction.exec_params(
            "INSERT INTO offline_export_studies (export_id, study_instance_uid, media_folder, "
            "  instances, bytes, last_received_at) "
            "SELECT $1, u, f, i::integer, b::bigint, NULLIF(r, '')::timestamptz "
            "  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) "
            "       AS s(u, f, i, b, r)",
            id, TextArrayLiteral(uids), TextArrayLiteral(folders), TextArrayLiteral(instances),
            TextArrayLiteral(bytes), TextArrayLiteral(received));
        RecordAudit(transaction, audit);
        return std::optional<std::int64_t>(id);
      });
}

std::vector<OfflineExportRecord> ExportIndex::List(const std::optional<std::int64_t>& facility_id) {
  return sql::ReadOnly(database_, "list offline exports", [&](pqxx::read_transaction& transaction) {
    std::vector<OfflineExportRecord> records;
    for (const auto& row : transaction.exec_params(
             std::string(kRecordColumns) + "WHERE $1::bigint IS NULL OR e.facility_id = $1::bigint "
                                           "ORDER BY e.cut_off DESC, e.id DESC",
             facility_id)) {
      records.push_back(RecordFrom(row));
    }
    return records;
  });
}

}  // namespace hokan::archive
