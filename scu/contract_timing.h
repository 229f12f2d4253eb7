#pragma once

// The backup timing hokan-forward follows, and where it comes from: the
// facility's contract as the archive answers it (N-GET of the hokan
// Facility Contract SOP class, dicom/facility_contract.h), or the [timing]
// section of hokan-forward.ini when the archive has not answered.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "archive/model/contract_timing.h"
#include "dicom/dicom_sender.h"
#include "scu/relay_config.h"

namespace hokan::relay {

// The timing fields the forward scheduler reads, and their source.
struct EffectiveTiming {
  BackupTiming timing = BackupTiming::kOnReceipt;
  std::optional<std::chrono::minutes> nightly_at;
  std::chrono::minutes exam_quiet{30};
  std::optional<std::int64_t> contract_id;  // nullopt: hokan-forward.ini's [timing]
  std::string facility;                     // the contract's facility
};

// The [timing] of the configuration file.
EffectiveTiming FileTiming(const RelayConfig& config);
// The contract's timing. Throws hokan::Error(kInvalidInput) naming the
// value when the backup timing is not one the relay knows, or a nightly
// time or quiet minutes it needs is missing.
EffectiveTiming TimingOfContract(const archive::ContractTiming& contract);
// `config` with the scheduler's fields (timing, nightly_at, exam_quiet) from `timing`.
RelayConfig WithTiming(RelayConfig config, const EffectiveTiming& timing);
// True when both make the scheduler decide alike (the source is ignored).
bool SameSchedule(const EffectiveTiming& a, const EffectiveTiming& b);
// "on receipt", "nightly at 02:00 UTC", "per exam after 30 min quiet".
std::string DescribeTiming(const EffectiveTiming& timing);
// "contract 12 (facility clinic)" or "hokan-forward.ini".
std::string DescribeSource(const EffectiveTiming& timing);

// What came of one N-GET.
struct ContractAnswer {
  std::string error;         // not empty: no association, no answer or a bad one
  std::uint16_t status = 0;  // the archive's N-GET-RSP status when it answered
  std::optional<archive::ContractTiming> contract;  // on success
};

// Opens an association to `archive` (DICOM TLS when archive.tls is set),
// proposing only the Facility Contract SOP class in Explicit VR Little
// Endian, sends the N-GET, reads the answer, releases. Never throws: every
// failure is in `error` (a refusal names the status and the archive's
// Error Comment).
ContractAnswer AskArchiveContract(const dicom::SendTarget& archive);

}  // namespace hokan::relay
