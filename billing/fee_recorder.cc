#include "billing/fee_recorder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/statement.h"
#include "archive/index/sql/transaction.h"

namespace hokan::billing {
namespace {

// One fee event per (paying facility, owning facility, study, purpose,
// billing day), its counts added up per delivery. The payer is the facility
// whose caller retrieved; the owner is the study's (another facility's for a
// patient shared by a sharing grant). The fee line is the one in force on the billing
// day: the purpose's line for the study's modality, else its line without a
// modality; the latest effective_from not after that day. Runs per
// retrieved study: prepared once per connection.
const archive::sql::Statement kRecordDelivery{
    "hokan_record_delivery",
    "WITH day AS (SELECT ($5::timestamptz AT TIME ZONE 'UTC')::date AS billing_day), "
    "line AS ("
    "  SELECT f.id, f.amount_minor, f.currency FROM fee_schedules f, day"
    "   WHERE f.purpose_id = $2 AND f.effective_from <= day.billing_day"
    "     AND (f.modality = $4 OR f.modality IS NULL)"
    "   ORDER BY (f.modality IS NULL), f.effective_from DESC LIMIT 1) "
    "INSERT INTO fee_events (facility_id, owner_facility_id, study_instance_uid, purpose_id, "
    "  billing_day, modality, fee_schedule_id, amount_minor, currency, calling_ae, "
    "  instances_delivered, instances_failed, first_delivered_at, last_delivered_at) "
    "SELECT $1, $9, $3, $2, day.billing_day, $4, line.id, coalesce(line.amount_minor, 0), "
    "       coalesce(line.currency, 'JPY'), $6, $7, $8, $5, $5 "
    "  FROM day LEFT JOIN line ON true "
    "ON CONFLICT (facility_id, owner_facility_id, study_instance_uid, purpose_id, billing_day) "
    "DO UPDATE SET "
    "  instances_delivered = fee_events.instances_delivered + excluded.instances_delivered,"
    "  instances_failed = fee_events.instances_failed + excluded.instances_failed,"
    "  last_delivered_at = greatest(fee_events.last_delivered_at, "
    "                               excluded.last_delivered_at)"};


// Charged to `paying_facility_id` (the caller's); the study's owner is
// recorded beside it.
void InsertFeeEvent(pqxx::work& transaction, std::int64_t paying_facility_id,
                    std::int64_t purpose_id, const std::string& calling_ae_title,
                    const StudyDelivery& delivery, TimePoint at) {
  archive::sql::Exec(transaction, kRecordDelivery, paying_facility_id, purpose_id,
                     delivery.study_instance_uid, delivery.modality, FormatUtc(at),
                     calling_ae_title, delivery.delivered, delivery.failed,
                     delivery.facility_id);
}

// ", owned by facility 2" for the studies of other facilities (patients
// shared with the caller's facility); "" when the caller's own.
std::string OwnersNote(const archive::RetrievalRecord& record) {
  std::set<std::int64_t> owners;
  for (const auto& study : record.studies) {
    if (study.facility_id != record.facility_id) owners.insert(study.facility_id);
  }
  if (owners.empty()) return {};
  return fmt::format(", shared by facility {}", fmt::join(owners, ", "));
}

// The audit row of one retrieval: who, what (the first studies), how it went.
archive::AuditEntry AuditOf(const archive::RetrievalRecord& record) {
  int delivered = 0;
  int failed = 0;
  std::string subject;
  constexpr std::size_t kStudiesNamed = 3;
  for (std::size_t i = 0; i < record.studies.size(); ++i) {
    delivered += record.studies[i].delivered;
    failed += record.studies[i].failed;
    if (i < kStudiesNamed) {
      subject += (i == 0 ? "" : ", ") + record.studies[i].study_instance_uid;
    }
  }
  if (record.studies.size() > kStudiesNamed) {
    subject += fmt::format(" and {} more", record.studies.size() - kStudiesNamed);
  }
  archive::AuditEntry entry;
  entry.actor = record.calling_ae;
  entry.action = "retrieve";
  entry.facility_id = record.facility_id;
  entry.subject = subject;
  entry.detail = fmt::format("{}: {} instance(s) delivered, {} failed, {} stud(y/ies){}{}",
                             record.operation, delivered, failed, record.studies.size(),
                             OwnersNote(record), record.ended_early ? ", ended early" : "");
  if (record.purpose_id) entry.detail += ", purpose " + record.purpose_name;
  return entry;
}

}  // namespace

FeeRecorder::FeeRecorder(archive::Database& database) : database_(database) {}

void FeeRecorder::Record(const archive::RetrievalRecord& record) {
  archive::sql::ReadWrite(database_, "recording the retrieval by " + record.calling_ae,
                          [&](pqxx::work& transaction) {
                            // Safe to re-run: a failed attempt's rows rolled back with it.
                            archive::RecordAudit(transaction, AuditOf(record));
                            if (!record.purpose_id) return;
                            for (const auto& study : record.studies) {
                              if (study.delivered <= 0) continue;
                              InsertFeeEvent(transaction, record.facility_id,
                                             *record.purpose_id, record.calling_ae, study,
                                             record.at);
                            }
                          });
}

}  // namespace hokan::billing
