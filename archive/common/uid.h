#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hokan::archive {

// True when `uid` is a well-formed DICOM UID (PS3.5 9.1): 1-64 characters,
// components of digits separated by single dots, no empty component, no
// leading zero in a component other than "0". Such a UID is safe as a file
// name: no '/', no "..", no NUL.
bool IsValidUid(std::string_view uid);

// The path of an instance below the storage root:
// "<facility_id>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm".
// REQUIRES: all three UIDs satisfy IsValidUid and facility_id > 0.
std::string InstanceRelativePath(std::int64_t facility_id,
                                 std::string_view study_instance_uid,
                                 std::string_view series_instance_uid,
                                 std::string_view sop_instance_uid);

}  // namespace hokan::archive
