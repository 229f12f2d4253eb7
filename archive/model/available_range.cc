#include "archive/model/available_range.h"

#include <fmt/format.h>

#include <algorithm>

namespace hokan::archive {
namespace {

bool Contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

bool IsReportSopClass(const std::string& sop_class_uid) {
  if (sop_class_uid.rfind(kReportSopClassPrefix, 0) == 0) return true;
  for (const char* uid : kReportSopClassUids) {
    if (sop_class_uid == uid) return true;
  }
  return false;
}

std::string ReportSopClassSql(const std::string& column) {
  std::string listed;
  for (const char* uid : kReportSopClassUids) {
    listed += fmt::format("{}'{}'", listed.empty() ? "" : ", ", uid);
  }
  return fmt::format("({} LIKE '{}%' OR {} IN ({}))", column, kReportSopClassPrefix, column,
                     listed);
}

bool InRange(const std::vector<std::string>& sop_class_uids, bool every_modality,
             const std::vector<std::string>& modalities, bool include_reports,
             const std::string& modality, const std::string& sop_class_uid) {
  if (!include_reports && IsReportSopClass(sop_class_uid)) return false;
  return every_modality || Contains(sop_class_uids, sop_class_uid) ||
         Contains(modalities, modality);
}

std::string InRangeSql(const std::string& sop_class_column, const std::string& modality_column,
                       bool every_modality, bool include_reports,
                       const std::string& sop_class_uids_param,
                       const std::string& modalities_param) {
  std::string condition;
  if (!include_reports) condition = "NOT " + ReportSopClassSql(sop_class_column);
  if (!every_modality) {
    condition +=
        fmt::format("{}({} = ANY ({}) OR {} = ANY ({}))", condition.empty() ? "" : " AND ",
                    sop_class_column, sop_class_uids_param, modality_column, modalities_param);
  }
  return condition.empty() ? "true" : condition;
}

}  // namespace hokan::archive
