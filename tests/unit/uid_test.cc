#include <catch2/catch.hpp>

#include <string>

#include "archive/common/uid.h"

using hokan::archive::InstanceRelativePath;
using hokan::archive::IsValidUid;

TEST_CASE("well-formed UIDs are accepted") {
  for (const char* uid : {"1.2.840.10008.5.1.4.1.1.2", "1.2", "0.0", "2.25.0",
                          "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.2"}) {
    INFO(uid);
    CHECK(IsValidUid(uid));
  }
  CHECK(IsValidUid(std::string(63, '1') + "1"));  // 64 characters
}

TEST_CASE("malformed or unsafe UIDs are refused") {
  const std::string too_long = "1." + std::string(63, '2');  // 65 characters
  for (const std::string& uid :
       {std::string(""), std::string("../../etc/passwd"), std::string("1.2/3"),
        std::string("1..2"), std::string(".1.2"), std::string("1.2."), std::string("1.02"),
        std::string("1.2 "), std::string("1.2\\3.4"), std::string("abc"), std::string("1.2\0", 4),
        too_long}) {
    INFO(uid);
    CHECK_FALSE(IsValidUid(uid));
  }
}

TEST_CASE("instance paths are facility/study/series/instance.dcm") {
  CHECK(InstanceRelativePath(3, "1.2.3", "1.2.3.4", "1.2.3.4.5") == "3/1.2.3/1.2.3.4/1.2.3.4.5.dcm");
}
