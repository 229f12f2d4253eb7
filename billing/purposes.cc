#include "billing/purposes.h"

#include <algorithm>

#include "archive/index/sql/index_sql.h"
#include "archive/index/sql/transaction.h"
#include "archive/model/available_range.h"

namespace hokan::billing {
namespace {

constexpr const char* kPurposeColumns =
    "id, name, called_ae_title, modalities, sop_class_uids, max_rows, max_columns, "
    "pixel_rights, may_retrieve_reports, may_store_reports";

Purpose PurposeFromRow(const pqxx::row& row) {
  Purpose purpose;
  purpose.id = row[0].as<std::int64_t>();
  purpose.name = row[1].as<std::string>();
  purpose.called_ae_title = row[2].as<std::string>();
  purpose.range.modalities = archive::TextArrayValues(row[3]);
  purpose.range.sop_class_uids = archive::TextArrayValues(row[4]);
  if (!row[5].is_null()) purpose.range.max_rows = row[5].as<int>();
  if (!row[6].is_null()) purpose.range.max_columns = row[6].as<int>();
  purpose.range.lossy_only = row[7].as<std::string>() == "lossy_only";
  purpose.range.may_retrieve_reports = row[8].as<bool>();
  purpose.range.may_store_reports = row[9].as<bool>();
  return purpose;
}

}  // namespace

PurposeDirectory::PurposeDirectory(archive::Database& database) : database_(database) {}

std::optional<Purpose> PurposeDirectory::ForCalledAe(const std::string& called_ae_title) {
  return archive::sql::ReadOnly(
      database_, "reading the purpose of called AE " + called_ae_title,
      [&](pqxx::read_transaction& transaction) -> std::optional<Purpose> {
        const pqxx::result rows = transaction.exec_params(
            fmt::format("SELECT {} FROM purposes WHERE called_ae_title = $1", kPurposeColumns),
            called_ae_title);
        if (rows.empty()) return std::nullopt;
        return PurposeFromRow(rows[0]);
      });
}

bool PurposeDirectory::IsGranted(std::int64_t purpose_id, std::int64_t facility_id,
                                 const std::string& calling_ae_title) {
  return archive::sql::ReadOnly(
      database_, "reading purpose grants of " + calling_ae_title,
      [&](pqxx::read_transaction& transaction) {
        return !transaction
                    .exec_params("SELECT 1 FROM purpose_grants WHERE purpose_id = $1 AND "
                                 "facility_id = $2 AND ae_title = $3",
                                 purpose_id, facility_id, calling_ae_title)
                    .empty();
      });
}

std::vector<std::string> PurposeDirectory::CalledAeTitles() {
  return archive::sql::ReadOnly(
      database_, "listing purposes' AE titles", [&](pqxx::read_transaction& transaction) {
        std::vector<std::string> titles;
        for (const auto& row :
             transaction.exec("SELECT called_ae_title FROM purposes ORDER BY id")) {
          titles.push_back(row[0].as<std::string>());
        }
        return titles;
      });
}

}  // namespace hokan::billing
