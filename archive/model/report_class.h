#pragma once

#include <string>

namespace hokan::archive {

// True for the SOP classes hokan treats as reports: every Structured
// Report class (1.2.840.10008.5.1.4.1.1.88.*), Encapsulated PDF and CDA.
// The one C++ definition (the index's SQL spells the same set).
bool IsReportSopClass(const std::string& sop_class_uid);

}  // namespace hokan::archive
