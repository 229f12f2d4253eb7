#include "archive/model/report_class.h"

namespace hokan::archive {

bool IsReportSopClass(const std::string& sop_class_uid) {
  static const std::string kStructuredReports = "1.2.840.10008.5.1.4.1.1.88.";
  return sop_class_uid.rfind(kStructuredReports, 0) == 0 ||
         sop_class_uid == "1.2.840.10008.5.1.4.1.1.104.1" ||  // Encapsulated PDF
         sop_class_uid == "1.2.840.10008.5.1.4.1.1.104.2";    // Encapsulated CDA
}

}  // namespace hokan::archive
