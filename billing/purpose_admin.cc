#include "billing/purpose_admin.h"

#include <fmt/format.h>

#include <pqxx/pqxx>

#include "archive/common/clock.h"
#include "archive/common/error.h"
#include "archive/index/audit_log.h"
#include "archive/index/database.h"
#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"

namespace hokan::billing {
namespace {

constexpr const char* kUniqueViolation = "23505";

[[noreturn]] void Refuse(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

std::string Joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : ",") + value;
  return text.empty() ? "-" : text;
}

std::string LimitText(const std::optional<int>& limit) {
  return limit ? std::to_string(*limit) : "none";
}

constexpr const char* kSelectPurpose =
    "SELECT p.id, p.name, p.called_ae_title, p.description, p.modalities, p.sop_class_uids, "
    "       p.max_rows, p.max_columns, p.pixel_rights, p.may_retrieve_reports, "
    "       p.may_store_reports, "
    "       ARRAY(SELECT g.ae_title || '@' || f.name "
    "               FROM purpose_grants g JOIN facilities f ON f.id = g.facility_id "
    "              WHERE g.purpose_id = p.id ORDER BY g.ae_title, f.name) "
    "  FROM purposes p ";

PurposeListing ListingFromRow(const pqxx::row& row) {
  PurposeListing listing;
  listing.id = row[0].as<std::int64_t>();
  PurposeSettings& settings = listing.settings;
  settings.name = row[1].as<std::string>();
  settings.called_ae_title = row[2].as<std::string>();
  settings.description = row[3].as<std::string>();
  settings.modalities = archive::TextArrayValues(row[4]);
  settings.sop_class_uids = archive::TextArrayValues(row[5]);
  if (!row[6].is_null()) settings.max_rows = row[6].as<int>();
  if (!row[7].is_null()) settings.max_columns = row[7].as<int>();
  settings.pixel_rights = row[8].as<std::string>();
  settings.reports = {row[9].as<bool>(), row[10].as<bool>()};
  listing.granted_callers = archive::TextArrayValues(row[11]);
  return listing;
}

// The purpose named `name`, its row locked for the change; refuses when
// there is none.
PurposeListing LockPurpose(pqxx::transaction_base& transaction, const std::string& name) {
  const auto result = transaction.exec_params(
      std::string(kSelectPurpose) + " WHERE p.name = $1 FOR UPDATE OF p", name);
  if (result.empty()) Refuse(fmt::format("unknown purpose '{}'", name));
  return ListingFromRow(result[0]);
}

// Refuses a called AE title another purpose (not `except_id`) answers on.
void CheckCalledAeFree(pqxx::transaction_base& transaction, const std::string& called_ae_title,
                       std::int64_t except_id) {
  const auto other =
      transaction.exec_params("SELECT name FROM purposes WHERE called_ae_title = $1 AND id <> $2",
                              called_ae_title, except_id);
  if (!other.empty()) {
    Refuse(fmt::format("--called-ae '{}' already answers for purpose '{}'", called_ae_title,
                       other[0][0].as<std::string>()));
  }
}

// Inserts `settings` as a new purpose (no `id`; returns the new id) or
// writes them over purpose `id` (returns it).
std::int64_t WritePurpose(pqxx::transaction_base& transaction, const PurposeSettings& settings,
                          std::optional<std::int64_t> id) {
  const std::string modalities = archive::TextArrayLiteral(settings.modalities);
  const std::string sop_class_uids = archive::TextArrayLiteral(settings.sop_class_uids);
  const std::string now = FormatUtcMicroseconds(Now());
  try {
    if (!id) {
      return transaction
          .exec_params(
              "INSERT INTO purposes (name, called_ae_title, description, modalities, "
              "    sop_class_uids, max_rows, max_columns, pixel_rights, "
              "    may_retrieve_reports, may_store_reports, created_at, updated_at) "
              "VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7, $8, $9, $10, "
              "        $11::timestamptz, $11::timestamptz) RETURNING id",
              settings.name, settings.called_ae_title, settings.description, modalities,
              sop_class_uids, settings.max_rows, settings.max_columns, settings.pixel_rights,
              settings.reports.may_retrieve, settings.reports.may_store, now)[0][0]
          .as<std::int64_t>();
    }
    transaction.exec_params(
        "UPDATE purposes SET called_ae_title = $2, description = $3, modalities = $4::text[], "
        "    sop_class_uids = $5::text[], max_rows = $6, max_columns = $7, pixel_rights = $8, "
        "    may_retrieve_reports = $9, may_store_reports = $10, updated_at = $11::timestamptz "
        " WHERE id = $1",
        *id, settings.called_ae_title, settings.description, modalities, sop_class_uids,
        settings.max_rows, settings.max_columns, settings.pixel_rights,
        settings.reports.may_retrieve, settings.reports.may_store, now);
    return *id;
  } catch (const pqxx::sql_error& error) {
    // Another session took the name or the called AE title after our check.
    if (error.sqlstate() == kUniqueViolation) {
      Refuse(
          fmt::format("purpose '{}': its name or called AE title '{}' was just taken by "
                      "another purpose",
                      settings.name, settings.called_ae_title));
    }
    throw;
  }
}

}  // namespace

PurposeSettings ApplyPurposeChange(const PurposeSettings& current, const PurposeChange& change) {
  PurposeSettings settings = current;
  if (change.called_ae_title) settings.called_ae_title = *change.called_ae_title;
  if (change.description) settings.description = *change.description;
  if (change.modalities) settings.modalities = *change.modalities;
  if (change.sop_class_uids) settings.sop_class_uids = *change.sop_class_uids;
  if (change.max_rows) settings.max_rows = *change.max_rows;
  if (change.max_columns) settings.max_columns = *change.max_columns;
  if (change.pixel_rights) settings.pixel_rights = *change.pixel_rights;
  if (change.reports) settings.reports = *change.reports;
  RequireRange(settings.name, settings.modalities, settings.sop_class_uids);
  return settings;
}

std::vector<std::string> DescribePurposeChanges(const PurposeSettings& before,
                                                const PurposeSettings& after) {
  std::vector<std::string> changes;
  const auto compare = [&](const char* field, const std::string& old_value,
                           const std::string& new_value) {
    if (old_value != new_value) {
      changes.push_back(fmt::format("{}: {} -> {}", field, old_value, new_value));
    }
  };
  compare("called AE", before.called_ae_title, after.called_ae_title);
  compare("description", "'" + before.description + "'", "'" + after.description + "'");
  compare("modalities", Joined(before.modalities), Joined(after.modalities));
  compare("SOP classes", Joined(before.sop_class_uids), Joined(after.sop_class_uids));
  compare("max rows", LimitText(before.max_rows), LimitText(after.max_rows));
  compare("max columns", LimitText(before.max_columns), LimitText(after.max_columns));
  compare("pixel rights", before.pixel_rights, after.pixel_rights);
  compare("reports", FormatReportRights(before.reports), FormatReportRights(after.reports));
  return changes;
}

std::string SummarizePurpose(const PurposeSettings& settings) {
  std::string size = "no size limit";
  if (settings.max_rows || settings.max_columns) {
    size = fmt::format("max {}x{} (rows x columns)", LimitText(settings.max_rows),
                       LimitText(settings.max_columns));
  }
  return fmt::format("called AE {}, modalities {}, SOP classes {}, {}, pixels {}, reports {}",
                     settings.called_ae_title, Joined(settings.modalities),
                     Joined(settings.sop_class_uids), size, settings.pixel_rights,
                     FormatReportRights(settings.reports));
}

PurposeAdmin::PurposeAdmin(archive::Database& database) : database_(database) {}

std::int64_t PurposeAdmin::Add(const PurposeSettings& settings, const std::string& actor) {
  RequireRange(settings.name, settings.modalities, settings.sop_class_uids);
  return archive::sql::ReadWrite(
      database_, fmt::format("add purpose '{}'", settings.name), [&](pqxx::work& transaction) {
        if (!transaction.exec_params("SELECT 1 FROM purposes WHERE name = $1", settings.name)
                 .empty()) {
          Refuse(fmt::format("purpose '{}' exists; use 'purpose change'", settings.name));
        }
        CheckCalledAeFree(transaction, settings.called_ae_title, 0);
        const std::int64_t id = WritePurpose(transaction, settings, std::nullopt);
        archive::RecordAudit(transaction, archive::AuditEntry{actor, "purpose.add", std::nullopt,
                                                              "purpose " + settings.name,
                                                              SummarizePurpose(settings), ""});
        return id;
      });
}

PurposeSettings PurposeAdmin::Change(const std::string& name, const PurposeChange& change,
                                     const std::string& actor) {
  return archive::sql::ReadWrite(
      database_, fmt::format("change purpose '{}'", name), [&](pqxx::work& transaction) {
        const PurposeListing current = LockPurpose(transaction, name);
        const PurposeSettings settings = ApplyPurposeChange(current.settings, change);
        const auto changes = DescribePurposeChanges(current.settings, settings);
        if (changes.empty())
          Refuse(fmt::format("the options change nothing in purpose '{}'", name));
        CheckCalledAeFree(transaction, settings.called_ae_title, current.id);
        WritePurpose(transaction, settings, current.id);
        std::string detail;
        for (const auto& line : changes) detail += (detail.empty() ? "" : "; ") + line;
        archive::RecordAudit(transaction, archive::AuditEntry{actor, "purpose.change", std::nullopt,
                                                              "purpose " + name, detail, ""});
        return settings;
      });
}

std::vector<PurposeListing> PurposeAdmin::List() {
  return archive::sql::ReadOnly(
      database_, "list purposes", [&](pqxx::read_transaction& transaction) {
        std::vector<PurposeListing> listings;
        for (const auto& row :
             transaction.exec_params(std::string(kSelectPurpose) + " ORDER BY p.name")) {
          listings.push_back(ListingFromRow(row));
        }
        return listings;
      });
}

namespace {

// The facility whose caller (not destination) `ae_title` is: the one named
// `facility` when given, else the only one. Refuses an AE title no facility
// knows as a caller, one `facility` does not know, and an ambiguous one.
std::pair<std::int64_t, std::string> CallerFacility(pqxx::transaction_base& transaction,
                                                    const std::string& ae_title,
                                                    const std::optional<std::string>& facility) {
  const auto rows = transaction.exec_params(
      "SELECT f.id, f.name FROM application_entities e JOIN facilities f ON f.id = e.facility_id "
      " WHERE e.ae_title = $1 AND e.role <> 'destination' AND ($2::text IS NULL OR f.name = $2) "
      " ORDER BY f.name",
      ae_title, facility);
  if (rows.empty() && facility) {
    Refuse(fmt::format("--ae '{}' is not a calling AE title of facility '{}'", ae_title,
                       *facility));
  }
  if (rows.empty()) {
    Refuse(fmt::format("--ae '{}' is not an AE title the archive knows "
                       "(application_entities); configure it for a facility first",
                       ae_title));
  }
  if (rows.size() > 1) {
    std::vector<std::string> names;
    for (const auto& row : rows) names.push_back(row[1].as<std::string>());
    Refuse(fmt::format("--ae '{}' is a calling AE title of facilities {}: name one with "
                       "--facility",
                       ae_title, Joined(names)));
  }
  return {rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>()};
}

}  // namespace

void PurposeAdmin::Grant(const std::string& name, const std::string& ae_title,
                         const std::optional<std::string>& facility, const std::string& actor) {
  archive::sql::ReadWrite(
      database_, fmt::format("grant purpose '{}' to {}", name, ae_title),
      [&](pqxx::work& transaction) {
        const PurposeListing purpose = LockPurpose(transaction, name);
        const auto [facility_id, facility_name] = CallerFacility(transaction, ae_title, facility);
        const auto inserted = transaction.exec_params(
            "INSERT INTO purpose_grants (purpose_id, facility_id, ae_title, granted_at) "
            "VALUES ($1, $2, $3, $4::timestamptz) ON CONFLICT DO NOTHING RETURNING 1",
            purpose.id, facility_id, ae_title, FormatUtcMicroseconds(Now()));
        if (inserted.empty()) {
          Refuse(fmt::format("--ae '{}' of facility {} may already use purpose '{}'", ae_title,
                             facility_name, name));
        }
        archive::RecordAudit(
            transaction,
            archive::AuditEntry{
                actor, "purpose.grant", facility_id, "purpose " + name,
                fmt::format("{} of facility {} may retrieve under purpose {} (called AE {})",
                            ae_title, facility_name, name, purpose.settings.called_ae_title),
                ""});
      });
}

void PurposeAdmin::Revoke(const std::string& name, const std::string& ae_title,
                          const std::optional<std::string>& facility, const std::string& actor) {
  archive::sql::ReadWrite(
      database_, fmt::format("revoke purpose '{}' from {}", name, ae_title),
      [&](pqxx::work& transaction) {
        const PurposeListing purpose = LockPurpose(transaction, name);
        const auto deleted = transaction.exec_params(
            "DELETE FROM purpose_grants g USING facilities f "
            " WHERE g.purpose_id = $1 AND g.ae_title = $2 AND f.id = g.facility_id "
            "   AND ($3::text IS NULL OR f.name = $3) RETURNING f.id, f.name",
            purpose.id, ae_title, facility);
        if (deleted.empty()) {
          Refuse(fmt::format("--ae '{}'{} has no grant of purpose '{}'", ae_title,
                             facility ? " of facility " + *facility : "", name));
        }
        if (deleted.size() > 1) {
          Refuse(fmt::format("--ae '{}' has grants of purpose '{}' at several facilities: name "
                             "one with --facility",
                             ae_title, name));
        }
        const std::string facility_name = deleted[0][1].as<std::string>();
        archive::RecordAudit(
            transaction,
            archive::AuditEntry{actor, "purpose.revoke", deleted[0][0].as<std::int64_t>(),
                                "purpose " + name,
                                fmt::format("{} of facility {} may no longer retrieve under "
                                            "purpose {}",
                                            ae_title, facility_name, name),
                                ""});
      });
}

}  // namespace hokan::billing
