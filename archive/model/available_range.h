#pragma once

// The one definition of "report" and of "in range" (a purpose's available
// range), in the two forms the archive needs: a C++ test on one instance
// (billing::AvailableRange, retrieval) and the same test as SQL text for
// the index's C-FIND statement (archive/index/find_query.cc), so that both
// always agree. Plain functions, no I/O.

#include <string>
#include <vector>

namespace hokan::archive {

// The SOP classes treated as reports: every Structured Report class (the
// UID prefix below), Encapsulated PDF and Encapsulated CDA.
inline constexpr const char* kReportSopClassPrefix = "1.2.840.10008.5.1.4.1.1.88.";
inline constexpr const char* kReportSopClassUids[] = {
    "1.2.840.10008.5.1.4.1.1.104.1",  // Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.104.2",  // Encapsulated CDA
};

bool IsReportSopClass(const std::string& sop_class_uid);

// SQL true when the SOP Class UID in `column` (e.g. "i.sop_class_uid") is a
// report class: "(i.sop_class_uid LIKE '1.2.840.10008.5.1.4.1.1.88.%' OR
// i.sop_class_uid IN ('…104.1', '…104.2'))" (constants only, no
// parameter, so the planner sees them).
std::string ReportSopClassSql(const std::string& column);

// An instance of `sop_class_uid` in a series of `modality` is in range
// when its class is listed, or every modality is, or its modality is
// listed; a report class only when reports are included.
bool InRange(const std::vector<std::string>& sop_class_uids, bool every_modality,
             const std::vector<std::string>& modalities, bool include_reports,
             const std::string& modality, const std::string& sop_class_uid);

// The same as an SQL condition on `sop_class_column` and `modality_column`,
// with the listed classes and modalities as the text[] parameters
// `sop_class_uids_param` and `modalities_param` (e.g. "$3::text[]"), which
// are not referenced when every_modality. "true" when nothing restricts.
std::string InRangeSql(const std::string& sop_class_column, const std::string& modality_column,
                       bool every_modality, bool include_reports,
                       const std::string& sop_class_uids_param,
                       const std::string& modalities_param);

}  // namespace hokan::archive
