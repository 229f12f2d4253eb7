#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/facility_contract.h"

#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dctag.h"

#include <fmt/format.h>

#include <cctype>
#include <string>

#include "archive/common/error.h"

namespace hokan::dicom {
namespace {

constexpr Uint16 kGroup = 0x0077;
constexpr Uint16 kBlock = 0x10;  // the creator's block as EncodeContractTiming writes it
constexpr Uint16 kContractId = 0x01;
constexpr Uint16 kFacility = 0x02;
constexpr Uint16 kBackupTiming = 0x03;
constexpr Uint16 kNightlyAt = 0x04;
constexpr Uint16 kExamQuietMinutes = 0x05;

DcmTagKey PrivateKey(Uint16 block, Uint16 element) {
  return DcmTagKey(kGroup, static_cast<Uint16>(block << 8 | element));
}

std::string Name(Uint16 block, Uint16 element, const char* what) {
  return fmt::format("facility contract: ({:04X},{:04X}) {}", kGroup,
                     static_cast<unsigned>(block << 8 | element), what);
}

[[noreturn]] void Bad(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

void Put(DcmDataset& data_set, Uint16 element, DcmEVR vr, const std::string& value) {
  const OFCondition put =
      data_set.putAndInsertString(DcmTag(PrivateKey(kBlock, element), vr), value.c_str());
  if (put.bad()) Bad(fmt::format("cannot write {}: {}", Name(kBlock, element, ""), put.text()));
}

// The block (xx of 0077,xx00) holding our private creator; 0 when none.
Uint16 CreatorBlock(DcmDataset& data_set) {
  for (Uint16 element = 0x10; element <= 0xFF; ++element) {
    OFString creator;
    if (data_set.findAndGetOFString(DcmTagKey(kGroup, element), creator).good() &&
        creator == kContractPrivateCreator) {
      return element;
    }
  }
  return 0;
}

std::string Text(DcmDataset& data_set, Uint16 block, Uint16 element, const char* what) {
  OFString value;
  if (data_set.findAndGetOFString(PrivateKey(block, element), value).bad() || value.empty()) {
    Bad(Name(block, element, what) + " is missing");
  }
  return value.c_str();
}

bool AllDigits(const std::string& text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

void EncodeContractTiming(const archive::ContractTiming& timing, DcmDataset& data_set) {
  std::string timing_value;
  if (timing.backup_timing == "on_receipt") {
    timing_value = "ON_RECEIPT";
  } else if (timing.backup_timing == "nightly") {
    timing_value = "NIGHTLY";
    const int at = timing.nightly_at_minutes.value_or(-1);
    if (at < 0 || at >= 24 * 60) Bad("facility contract: nightly timing without a nightly time");
  } else if (timing.backup_timing == "per_exam") {
    timing_value = "PER_EXAM";
    const int quiet = timing.exam_quiet_minutes.value_or(0);
    if (quiet < 1 || quiet > 65535) Bad("facility contract: per-exam timing without quiet minutes");
  } else {
    Bad(fmt::format("facility contract: unknown backup timing '{}'", timing.backup_timing));
  }
  const OFCondition creator =
      data_set.putAndInsertString(DcmTag(kGroup, kBlock, EVR_LO), kContractPrivateCreator);
  if (creator.bad()) Bad(fmt::format("cannot write the private creator: {}", creator.text()));
  Put(data_set, kContractId, EVR_LO, std::to_string(timing.contract_id));
  Put(data_set, kFacility, EVR_LO, timing.facility);
  Put(data_set, kBackupTiming, EVR_CS, timing_value);
  if (timing.backup_timing == "nightly") {
    Put(data_set, kNightlyAt, EVR_TM,
        fmt::format("{:02}{:02}", *timing.nightly_at_minutes / 60,
                    *timing.nightly_at_minutes % 60));
  }
  if (timing.backup_timing == "per_exam") {
    const OFCondition put = data_set.putAndInsertUint16(
        DcmTag(PrivateKey(kBlock, kExamQuietMinutes), EVR_US),
        static_cast<Uint16>(*timing.exam_quiet_minutes));
    if (put.bad()) Bad(fmt::format("cannot write the exam quiet minutes: {}", put.text()));
  }
}

archive::ContractTiming DecodeContractTiming(DcmDataset& data_set) {
  const Uint16 block = CreatorBlock(data_set);
  if (block == 0) {
    Bad(fmt::format("facility contract: no private creator \"{}\" in group {:04X}",
                    kContractPrivateCreator, kGroup));
  }
  archive::ContractTiming timing;
  const std::string id = Text(data_set, block, kContractId, "contract id");
  if (!AllDigits(id) || id.size() > 18) {
    Bad(Name(block, kContractId, "contract id") + fmt::format(" '{}' is not a number", id));
  }
  timing.contract_id = std::stoll(id);
  timing.facility = Text(data_set, block, kFacility, "facility");
  const std::string value = Text(data_set, block, kBackupTiming, "backup timing");
  if (value == "ON_RECEIPT") {
    timing.backup_timing = "on_receipt";
  } else if (value == "NIGHTLY") {
    timing.backup_timing = "nightly";
    const std::string at = Text(data_set, block, kNightlyAt, "nightly time");
    const std::string hhmm = at.substr(0, 4);
    if (!AllDigits(hhmm) || hhmm.size() != 4 || std::stoi(hhmm.substr(0, 2)) > 23 ||
        std::stoi(hhmm.substr(2, 2)) > 59) {
      Bad(Name(block, kNightlyAt, "nightly time") + fmt::format(" '{}' is not HHMM", at));
    }
    timing.nightly_at_minutes = std::stoi(hhmm.substr(0, 2)) * 60 + std::stoi(hhmm.substr(2, 2));
  } else if (value == "PER_EXAM") {
    timing.backup_timing = "per_exam";
    Uint16 quiet = 0;
    if (data_set.findAndGetUint16(PrivateKey(block, kExamQuietMinutes), quiet).bad()) {
      Bad(Name(block, kExamQuietMinutes, "exam quiet minutes") + " is missing");
    }
    if (quiet == 0) Bad(Name(block, kExamQuietMinutes, "exam quiet minutes") + " is 0");
    timing.exam_quiet_minutes = quiet;
  } else {
    Bad(Name(block, kBackupTiming, "backup timing") +
        fmt::format(" '{}' is not ON_RECEIPT, NIGHTLY or PER_EXAM", value));
  }
  return timing;
}

}  // namespace hokan::dicom
