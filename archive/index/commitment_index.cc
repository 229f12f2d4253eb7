#include "archive/index/commitment_index.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/database.h"
#include "archive/index/job_queue.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::archive {

CommitmentIndex::CommitmentIndex(Database& database) : database_(database) {}

AddedCommitmentRequest CommitmentIndex::AddRequest(const NewCommitmentRequest& request,
                                                   const std::string& node,
                                                   TimePoint report_after) {
  return sql::ReadWrite(
      database_, fmt::format("storing commitment request {}", request.transaction_uid),
      [&](pqxx::work& transaction) {
        AddedCommitmentRequest added;
        added.request_id =
            transaction
                .exec_params1(
                    "INSERT INTO commitment_requests"
                    "  (facility_id, transaction_uid, requester_ae, received_by, received_at)"
                    " VALUES ($1, $2, $3, $4, $5::timestamptz) RETURNING id",
                    request.facility_id, request.transaction_uid, request.requester_ae, node,
                    FormatUtcMicroseconds(Now()))[0]
                .as<std::int64_t>();
        std::vector<std::string> classes, instances;
        for (const auto& item : request.items) {
          classes.push_back(item.sop_class_uid);
          instances.push_back(item.sop_instance_uid);
        }
        transaction.exec_params(
            "INSERT INTO commitment_items (request_id, position, sop_class_uid, sop_instance_uid)"
            " SELECT $1, t.ord - 1, t.class_uid, t.instance_uid"
            "   FROM unnest($2::text[], $3::text[]) WITH ORDINALITY"
            "        AS t(class_uid, instance_uid, ord)",
            added.request_id, TextArrayLiteral(classes), TextArrayLiteral(instances));
        const auto job_id =
            EnqueueJob(transaction, kReportJobKind,
                       fmt::format("{{\"request_id\": {}}}", added.request_id), report_after);
        if (!job_id) {
          throw Error(ErrorCode::kInternal,
                      fmt::format("commitment request {}: the report job was not created",
                                  request.transaction_uid));
        }
        added.job_id = *job_id;
        return added;
      });
}

std::optional<StoredCommitmentRequest> CommitmentIndex::FindRequest(std::int64_t request_id) {
  return sql::ReadOnly(
      database_, fmt::format("reading commitment request {}", request_id),
      [&](pqxx::read_transaction& transaction) -> std::optional<StoredCommitmentRequest> {
        const auto found = transaction.exec_params(
            "SELECT facility_id, requester_ae, transaction_uid, state"
            "  FROM commitment_requests WHERE id = $1",
            request_id);
        if (found.empty()) return std::nullopt;
        StoredCommitmentRequest request;
        request.id = request_id;
        request.facility_id = found[0][0].as<std::int64_t>();
        request.requester_ae = found[0][1].as<std::string>();
        request.transaction_uid = found[0][2].as<std::string>();
        request.state = found[0][3].as<std::string>();
        const auto items = transaction.exec_params(
            "SELECT sop_class_uid, sop_instance_uid FROM commitment_items"
            " WHERE request_id = $1 ORDER BY position",
            request_id);
        for (const auto& row : items) {
          request.items.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
        }
        return request;
      });
}

std::vector<IndexedCopy> CommitmentIndex::FindInstances(
    std::int64_t facility_id, const std::vector<std::string>& sop_instance_uids) {
  return sql::ReadOnly(
      database_, "looking up instances to commit", [&](pqxx::read_transaction& transaction) {
        const auto result = transaction.exec_params(
            "SELECT sop_instance_uid, sop_class_uid, relative_path, checksum_sha256,"
            "       size_bytes, (extract(epoch FROM received_at) * 1000000)::bigint"
            "  FROM instances WHERE facility_id = $1 AND sop_instance_uid = ANY ($2::text[])",
            facility_id, TextArrayLiteral(sop_instance_uids));
        std::vector<IndexedCopy> copies;
        for (const auto& row : result) {
          copies.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                            row[2].as<std::string>(), row[3].as<std::string>(),
                            row[4].as<std::int64_t>(),
                            TimePoint(std::chrono::microseconds(row[5].as<std::int64_t>()))});
        }
        return copies;
      });
}

std::optional<ReportAddress> CommitmentIndex::FindReportAddress(std::int64_t facility_id,
                                                                const std::string& ae_title) {
  return sql::ReadOnly(
      database_, fmt::format("looking up the address of AE '{}'", ae_title),
      [&](pqxx::read_transaction& transaction) -> std::optional<ReportAddress> {
        const auto result = transaction.exec_params(
            "SELECT host, port FROM application_entities"
            " WHERE ae_title = $1 AND facility_id = $2 AND enabled"
            "   AND host IS NOT NULL AND host <> '' AND port IS NOT NULL"
            // The AE's own report destination first, else its facility's
            // move destination of that AE title; never another facility's.
            " ORDER BY role = 'destination' LIMIT 1",
            ae_title, facility_id);
        if (result.empty()) return std::nullopt;
        return ReportAddress{ae_title, result[0][0].as<std::string>(), result[0][1].as<int>()};
      });
}

void CommitmentIndex::RecordReported(std::int64_t request_id,
                                     const std::vector<ReportedItem>& items,
                                     const std::string& association, const std::string& address,
                                     std::optional<std::int64_t> finished_job_id,
                                     const std::string& node) {
  std::vector<std::string> positions, reasons;
  int failed = 0;
  for (const auto& item : items) {
    positions.push_back(std::to_string(item.position));
    reasons.push_back(std::to_string(item.failure_reason.value_or(0)));
    if (item.failure_reason) ++failed;
  }
  const int committed = static_cast<int>(items.size()) - failed;
  const std::string reported_at = FormatUtcMicroseconds(Now());
  sql::ReadWrite(
      database_, fmt::format("recording the report of commitment request {}", request_id),
      [&](pqxx::work& transaction) {
        transaction.exec_params(
            "UPDATE commitment_items c"
            "   SET outcome = CASE WHEN t.reason = 0 THEN 'committed' ELSE 'failed' END,"
            "       failure_reason = NULLIF(t.reason, 0)"
            "  FROM unnest($2::integer[], $3::integer[]) AS t(position, reason)"
            " WHERE c.request_id = $1 AND c.position = t.position",
            request_id, TextArrayLiteral(positions), TextArrayLiteral(reasons));
        transaction.exec_params(
            "UPDATE commitment_requests"
            "   SET state = 'reported', reported_at = $6::timestamptz, committed_count = $2,"
            "       failed_count = $3, report_association = $4, report_address = $5,"
            "       attempts = attempts + 1, last_error = ''"
            " WHERE id = $1",
            request_id, committed, failed, association, address, reported_at);
        if (finished_job_id) {
          transaction.exec_params(
              "UPDATE jobs SET state = 'done', attempts = attempts + 1, done_by = $2,"
              "       finished_at = $3::timestamptz, last_error = ''"
              " WHERE id = $1 AND state = 'pending'",
              *finished_job_id, node, reported_at);
        }
      });
}

void CommitmentIndex::RecordAttempt(std::int64_t request_id, const std::string& error,
                                    bool gave_up) {
  sql::ReadWrite(database_,
                 fmt::format("recording a report attempt of commitment request {}", request_id),
                 [&](pqxx::work& transaction) {
                   transaction.exec_params(
                       "UPDATE commitment_requests"
                       "   SET attempts = attempts + 1, last_error = $2,"
                       "       state = CASE WHEN $3 THEN 'failed' ELSE state END"
                       " WHERE id = $1 AND state = 'pending'",
                       request_id, error, gave_up);
                 });
}

void CommitmentIndex::RunJobNow(std::int64_t job_id) {
  sql::ReadWrite(database_, fmt::format("rescheduling job {}", job_id),
                 [&](pqxx::work& transaction) {
                   transaction.exec_params(
                       "UPDATE jobs SET run_after = $2::timestamptz"
                       " WHERE id = $1 AND state = 'pending'",
                       job_id, FormatUtc(Now()));
                 });
}

}  // namespace hokan::archive
