// Facility and node names also name folders: "." and ".." are refused with
// an error naming the key (issue 14, item 9).
#include <catch2/catch.hpp>

#include <string>

#include "archive/common/error.h"
#include "archive/config/config.h"

using hokan::Error;
using hokan::archive::ParseConfig;

namespace {

std::string ErrorOf(const std::string& text, const hokan::archive::ConfigOverrides& overrides) {
  try {
    ParseConfig(text, "test.ini", overrides);
  } catch (const Error& error) {
    CHECK(error.code() == hokan::ErrorCode::kConfiguration);
    return error.what();
  }
  FAIL("no error raised for: " << text);
  return {};
}

}  // namespace

TEST_CASE("facility and node names '.' and '..' are refused, naming the key") {
  const std::string base = "[database]\nurl = x\n";
  for (const std::string name : {".", ".."}) {
    INFO(name);
    CHECK_THAT(ErrorOf(base + "[facility." + name + "]\nstore_ae_titles = A\n", {}),
               Catch::Contains("[facility." + name + "]") && Catch::Contains("not '.' or '..'"));
    CHECK_THAT(ErrorOf("[archive]\nnode_name = " + name + "\n" + base, {}),
               Catch::Contains("'archive.node_name'") && Catch::Contains("not '.' or '..'"));
    CHECK_THAT(ErrorOf(base, {{"archive.node_name", name}}),
               Catch::Contains("'archive.node_name'"));
  }
  // Dots inside a name stay allowed.
  CHECK_NOTHROW(ParseConfig(base + "[archive]\nnode_name = a.b\n[facility.x.y]\nstore_ae_titles = "
                                   "A\n",
                            "test.ini", {}));
}
