#include "archive/common/uid.h"

#include <fmt/format.h>

namespace hokan::archive {

bool IsValidUid(std::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  std::size_t component_length = 0;
  bool component_starts_with_zero = false;
  for (char c : uid) {
    if (c == '.') {
      if (component_length == 0) return false;
      component_length = 0;
      continue;
    }
    if (c < '0' || c > '9') return false;
    if (component_length == 0) component_starts_with_zero = c == '0';
    else if (component_starts_with_zero) return false;  // "01"
    ++component_length;
  }
  return component_length != 0;
}

std::string InstanceRelativePath(std::int64_t facility_id,
                                 std::string_view study_instance_uid,
                                 std::string_view series_instance_uid,
                                 std::string_view sop_instance_uid) {
  return fmt::format("{}/{}/{}/{}.dcm", facility_id, study_instance_uid,
                     series_instance_uid, sop_instance_uid);
}

}  // namespace hokan::archive
