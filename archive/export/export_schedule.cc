#include "archive/export/export_schedule.h"

#include <fmt/format.h>

#include <cctype>
#include <ctime>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

constexpr int kMaxPerLevel = 999999;

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, message);
}

// Parses "HH:MM" or "HH:MM:SS" into seconds after midnight; nullopt otherwise.
std::optional<int> SecondsOfDay(const std::string& text) {
  if (text.size() != 5 && text.size() != 8) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool colon = i == 2 || i == 5;
    if (colon ? text[i] != ':' : !std::isdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
  }
  const int hours = std::stoi(text.substr(0, 2));
  const int minutes = std::stoi(text.substr(3, 2));
  const int seconds = text.size() == 8 ? std::stoi(text.substr(6, 2)) : 0;
  if (hours > 23 || minutes > 59 || seconds > 59) return std::nullopt;
  return hours * 3600 + minutes * 60 + seconds;
}

// The value after "key": in a flat JSON object, raw (quotes included).
std::optional<std::string> RawValue(const std::string& payload, const std::string& key) {
  const std::string quoted = "\"" + key + "\"";
  const std::size_t at = payload.find(quoted);
  if (at == std::string::npos) return std::nullopt;
  std::size_t position = payload.find_first_not_of(" \t\n", at + quoted.size());
  if (position == std::string::npos || payload[position] != ':') return std::nullopt;
  position = payload.find_first_not_of(" \t\n", position + 1);
  if (position == std::string::npos) return std::nullopt;
  std::size_t end = position;
  if (payload[position] == '"') {
    end = payload.find('"', position + 1);
    if (end == std::string::npos) return std::nullopt;
    return payload.substr(position, end - position + 1);  // quotes kept
  }
  while (end < payload.size() && std::isdigit(static_cast<unsigned char>(payload[end]))) ++end;
  if (end == position) return std::nullopt;
  return payload.substr(position, end - position);
}

}  // namespace

std::optional<DueExport> DueExportFor(std::int64_t facility_id, const std::string& export_at,
                                      TimePoint now) {
  const auto seconds = SecondsOfDay(export_at);
  if (!seconds) {
    Invalid(fmt::format("facility {}: export time '{}' is not HH:MM or HH:MM:SS", facility_id,
                        export_at));
  }
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t day_start = since_epoch - ((since_epoch % 86400) + 86400) % 86400;
  const TimePoint cut_off{std::chrono::seconds(day_start + *seconds)};
  if (now < cut_off + kExportSettleTime) return std::nullopt;
  const std::string date = FormatUtc(cut_off).substr(0, 10);
  return DueExport{cut_off, fmt::format("{}:{}:{}", kOfflineExportJobKind, facility_id, date)};
}

std::string ExportPayload(const ExportRequest& request) {
  return fmt::format(R"({{"facility_id": {}, "cut_off": "{}"}})", request.facility_id,
                     FormatCutOff(request.cut_off));
}

ExportRequest ParseExportPayload(const std::string& payload) {
  const auto facility = RawValue(payload, "facility_id");
  const auto cut_off_text = RawValue(payload, "cut_off");
  if (!facility || facility->front() == '"') {
    Invalid(fmt::format("offline export payload {} has no facility_id", payload));
  }
  std::optional<TimePoint> cut_off;
  if (cut_off_text && cut_off_text->size() >= 2 && cut_off_text->front() == '"') {
    cut_off = ParseCutOff(cut_off_text->substr(1, cut_off_text->size() - 2));
  }
  if (!cut_off) Invalid(fmt::format("offline export payload {} has no valid cut_off", payload));
  ExportRequest request;
  try {
    request.facility_id = std::stoll(*facility);
  } catch (const std::exception&) {
    Invalid(fmt::format("offline export payload {}: facility_id out of range", payload));
  }
  request.cut_off = *cut_off;
  return request;
}

std::string ExportFolderName(TimePoint cut_off) {
  std::string text = FormatUtc(cut_off);  // "2026-11-22T02:00:00Z"
  std::string name;
  for (char c : text) {
    if (c != '-' && c != ':') name += c;
  }
  return name;  // "20261122T020000Z"
}

std::string MediaLayout::Next(const std::string& study_instance_uid,
                              const std::string& series_instance_uid) {
  if (study_ == 0 || study_instance_uid != study_uid_) {
    if (++study_ > kMaxPerLevel) Invalid("offline export: more than 999999 studies on one medium");
    study_uid_ = study_instance_uid;
    series_uid_.clear();
    series_ = 0;
  }
  if (series_ == 0 || series_instance_uid != series_uid_) {
    if (++series_ > kMaxPerLevel) {
      Invalid(fmt::format("study {}: more than 999999 series on one medium", study_uid_));
    }
    series_uid_ = series_instance_uid;
    instance_ = 0;
  }
  if (++instance_ > kMaxPerLevel) {
    Invalid(fmt::format("series {}: more than 999999 instances on one medium", series_uid_));
  }
  return fmt::format("{}/SE{:06}/IM{:06}", StudyFolder(), series_, instance_);
}

std::string MediaLayout::StudyFolder() const {
  return study_ == 0 ? "" : fmt::format("DICOM/ST{:06}", study_);
}

}  // namespace hokan::archive
