#include "archive/config/config.h"

#include <unistd.h>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "archive/common/byte_count.h"
#include "archive/common/error.h"
#include "archive/config/facility_identity.h"

namespace hokan::archive {
namespace {

namespace pt = boost::property_tree;

[[noreturn]] void Fail(std::string_view source, const std::string& what) {
  throw Error(ErrorCode::kConfiguration, fmt::format("{}: {}", source, what));
}

std::string Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream stream{std::string(text)};
  while (std::getline(stream, item, ',')) {
    item = Trim(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

int ParseInt(std::string_view source, const std::string& key,
             const std::string& value, int minimum, int maximum) {
  std::size_t used = 0;
  long parsed = 0;
  try {
    parsed = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || parsed < minimum || parsed > maximum) {
    Fail(source, fmt::format("key '{}' must be a whole number from {} to {}, got '{}'",
                             key, minimum, maximum, value));
  }
  return static_cast<int>(parsed);
}

// Also names folders (a node's incoming folder, export folders): "." and
// ".." would name the folder itself or its parent.
bool IsValidFacilityName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string DefaultNodeName(int port) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return fmt::format("node-{}", port);
  }
  return fmt::format("{}-{}", host, port);
}

// The keys of each fixed section; a key not listed here is an error.
const std::set<std::string> kArchiveKeys = {
    "ae_title", "port", "storage_root", "max_associations", "max_pdu_bytes",
    "acse_timeout_seconds", "dimse_timeout_seconds", "log_level",
    "duplicate_policy", "node_name", "free_space_floor_bytes", "job_poll_milliseconds",
    "expiry_interval_seconds", "expiry_batch_size", "export_root",
    "association_request_deadline_seconds", "max_half_open_per_address",
    "max_half_open_connections",
    // issue 14, background work:
    "connect_timeout_seconds"};
const std::set<std::string> kDatabaseKeys = {"url", "pool_size"};
const std::set<std::string> kFacilityKeys = {"store_ae_titles", "query_ae_titles",
                                             "allowed_peers", "move_destinations",
                                             "provision_contract", "provision_quota_bytes",
                                             "report_destinations", "archive_ae_titles"};

// A byte count (archive/common/byte_count.h), e.g. 1073741824 or 1G.
std::int64_t ParseBytes(std::string_view source, const std::string& name,
                        const std::string& value) {
  const std::optional<std::int64_t> bytes = ParseByteCount(value);
  if (!bytes) {
    Fail(source, fmt::format("key '{}' must be a byte count like 1073741824 or 1G, got '{}'",
                             name, value));
  }
  return *bytes;
}

bool ParseBool(std::string_view source, const std::string& name, const std::string& value) {
  if (value == "true" || value == "yes" || value == "1") return true;
  if (value == "false" || value == "no" || value == "0") return false;
  Fail(source, fmt::format("key '{}' must be true or false, got '{}'", name, value));
}

// Parses "AE@host:port" (or "AE@host:port/tls"); false if malformed.
bool ParseDestination(std::string text, DestinationConfig* destination) {
  const std::string tls_suffix = "/tls";
  destination->tls = text.size() > tls_suffix.size() &&
                     text.compare(text.size() - tls_suffix.size(), tls_suffix.size(),
                                  tls_suffix) == 0;
  if (destination->tls) text.resize(text.size() - tls_suffix.size());
  const auto at = text.find('@');
  const auto colon = text.rfind(':');
  if (at == std::string::npos || colon == std::string::npos || colon < at) return false;
  destination->ae_title = text.substr(0, at);
  destination->host = text.substr(at + 1, colon - at - 1);
  const std::string port = text.substr(colon + 1);
  if (!IsValidAeTitle(destination->ae_title) || destination->host.empty() || port.empty() ||
      port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  destination->port = std::stoi(port);
  return destination->port >= 1 && destination->port <= 65535;
}

// DICOM TLS keys of [archive] (issue 14).
const std::set<std::string> kArchiveTlsKeys = {"tls_port", "tls_certificate", "tls_private_key",
                                               "tls_profile", "tls_trusted_certificates"};
const std::set<std::string> kTlsProfiles = {"BCP195", "BCP195-ND", "BCP195-EX", "AES"};

void ApplyArchiveTlsKey(std::string_view source, ArchiveConfig& config,
                        const std::string& key, const std::string& value) {
  const std::string name = "archive." + key;
  if (key == "tls_port") {
    config.tls_port = ParseInt(source, name, value, 0, 65535);
  } else if (key == "tls_certificate") {
    config.tls_certificate = value;
  } else if (key == "tls_private_key") {
    config.tls_private_key = value;
  } else if (key == "tls_profile") {
    if (!kTlsProfiles.count(value)) {
      Fail(source, fmt::format("key '{}' must be BCP195, BCP195-ND, BCP195-EX or AES, got '{}'",
                               name, value));
    }
    config.tls_profile = value;
  } else if (key == "tls_trusted_certificates") {
    config.tls_trusted_certificates = SplitList(value);
  }
}

// DICOM TLS keys of [facility.NAME] (issue 14); false when `key` is not one.
bool ApplyFacilityTlsKey(std::string_view source, const std::string& section,
                         FacilityConfig& facility, const std::string& key,
                         const std::string& value) {
  if (key == "tls_required") {
    facility.tls_required = ParseBool(source, section + "." + key, value);
  } else if (key == "trusted_certificates") {
    facility.trusted_certificates = SplitList(value);
  } else {
    return false;
  }
  return true;
}

// A TLS port needs its certificate and key, and a port of its own; a
// facility that requires TLS needs a TLS port.
void CheckArchiveTls(const ArchiveConfig& config, std::string_view source) {
  bool tls_destination = false;
  for (const FacilityConfig& facility : config.facilities) {
    for (const DestinationConfig& report : facility.report_destinations) {
      if (report.tls) {
        Fail(source, fmt::format("key 'facility.{}.report_destinations': '{}': Storage "
                                 "Commitment reports over DICOM TLS are not supported yet",
                                 facility.name, report.ae_title));
      }
    }
    for (const DestinationConfig& destination : facility.move_destinations) {
      tls_destination = tls_destination || destination.tls;
    }
    if ((facility.tls_required || !facility.trusted_certificates.empty()) &&
        config.tls_port == 0) {
      Fail(source, fmt::format("section '[facility.{}]' requires DICOM TLS "
                               "(tls_required or trusted_certificates) but 'archive.tls_port' "
                               "is not set", facility.name));
    }
  }
  if (tls_destination && (config.tls_certificate.empty() || config.tls_private_key.empty() ||
                          config.tls_trusted_certificates.empty())) {
    Fail(source, "a move destination over DICOM TLS (AE@host:port/tls) requires "
                 "'archive.tls_certificate', 'archive.tls_private_key' and "
                 "'archive.tls_trusted_certificates'");
  }
  if (config.tls_port == 0) return;
  if (config.tls_port == config.port) {
    Fail(source, fmt::format("key 'archive.tls_port' must differ from 'archive.port' ({})",
                             config.port));
  }
  if (config.tls_certificate.empty() || config.tls_private_key.empty()) {
    Fail(source, "keys 'archive.tls_certificate' and 'archive.tls_private_key' are required "
                 "with 'archive.tls_port'");
  }
}

// Resource limits: [archive] keys kept apart from the others.
const std::set<std::string> kLimitKeys = {
    "find_max_matches",     "find_statement_timeout_ms", "max_identifier_keys",
    "max_identifier_bytes", "max_commitment_items",      "max_commitment_bytes",
    "max_object_bytes"};

bool IsArchiveKey(const std::string& key) {
  return kArchiveKeys.count(key) > 0 || kArchiveTlsKeys.count(key) > 0 ||
         kLimitKeys.count(key) > 0;
}

void ApplyLimitKey(std::string_view source, ResourceLimits& limits, const std::string& key,
                   const std::string& value) {
  const std::string name = "archive." + key;
  const auto positive_bytes = [&] {
    const std::int64_t bytes = ParseBytes(source, name, value);
    if (bytes < 1) Fail(source, fmt::format("key '{}' must be at least 1 byte", name));
    return bytes;
  };
  if (key == "find_max_matches") {
    limits.find_max_matches = ParseInt(source, name, value, 0, 100000000);
  } else if (key == "find_statement_timeout_ms") {
    limits.find_statement_timeout_ms = ParseInt(source, name, value, 0, 3600000);
  } else if (key == "max_identifier_keys") {
    limits.max_identifier_keys = ParseInt(source, name, value, 1, 1000000);
  } else if (key == "max_identifier_bytes") {
    limits.max_identifier_bytes = positive_bytes();
  } else if (key == "max_commitment_items") {
    limits.max_commitment_items = ParseInt(source, name, value, 1, 10000000);
  } else if (key == "max_commitment_bytes") {
    limits.max_commitment_bytes = positive_bytes();
  } else if (key == "max_object_bytes") {
    limits.max_object_bytes = positive_bytes();
  }
}

void ApplyArchiveKey(std::string_view source, ArchiveConfig& config,
                     const std::string& key, const std::string& value) {
  const std::string name = "archive." + key;
  if (kLimitKeys.count(key)) return ApplyLimitKey(source, config.limits, key, value);
  if (key == "ae_title") {
    if (!IsValidAeTitle(value)) {
      Fail(source, fmt::format("key '{}' must be 1-16 characters without backslash, got '{}'",
                               name, value));
    }
    config.ae_title = value;
  } else if (key == "port") {
    config.port = ParseInt(source, name, value, 1, 65535);
  } else if (key == "storage_root") {
    if (value.empty()) Fail(source, fmt::format("key '{}' must not be empty", name));
    config.storage_root = value;
  } else if (key == "max_associations") {
    config.max_associations = ParseInt(source, name, value, 1, 1000);
  } else if (key == "max_pdu_bytes") {
    config.max_pdu_bytes = ParseInt(source, name, value, 4096, 131072);
  } else if (key == "acse_timeout_seconds") {
    config.acse_timeout_seconds = ParseInt(source, name, value, 1, 3600);
  } else if (key == "dimse_timeout_seconds") {
    config.dimse_timeout_seconds = ParseInt(source, name, value, 1, 86400);
  } else if (key == "association_request_deadline_seconds") {
    config.association_request_deadline_seconds = ParseInt(source, name, value, 1, 3600);
  } else if (key == "max_half_open_per_address") {
    config.max_half_open_per_address = ParseInt(source, name, value, 1, 1000);
  } else if (key == "max_half_open_connections") {
    config.max_half_open_connections = ParseInt(source, name, value, 1, 100000);
  } else if (key == "log_level") {
    if (!ParseLogLevel(value, &config.log_level)) {
      Fail(source, fmt::format("key '{}' must be error, warn, info or debug, got '{}'",
                               name, value));
    }
  } else if (key == "duplicate_policy") {
    if (value != "reject") {
      Fail(source, fmt::format("key '{}' must be 'reject', got '{}'", name, value));
    }
    config.duplicate_policy = DuplicatePolicy::kReject;
  } else if (key == "node_name") {
    if (!IsValidFacilityName(value)) {
      Fail(source, fmt::format("key '{}' must be 1-64 letters, digits, '_', '.' or '-', and not "
                               "'.' or '..', got '{}'",
                               name, value));
    }
    config.node_name = value;
  } else if (key == "free_space_floor_bytes") {
    config.free_space_floor_bytes = ParseBytes(source, name, value);
  } else if (key == "job_poll_milliseconds") {
    config.job_poll_milliseconds = ParseInt(source, name, value, 10, 600000);
  } else if (key == "expiry_interval_seconds") {
    config.expiry_interval_seconds = ParseInt(source, name, value, 1, 7 * 86400);
  } else if (key == "expiry_batch_size") {
    config.expiry_batch_size = ParseInt(source, name, value, 1, 10000);
  } else if (key == "export_root") {
    if (value.empty()) Fail(source, fmt::format("key '{}' must not be empty", name));
    config.export_root = value;
  } else if (key == "connect_timeout_seconds") {  // issue 14, background work
    config.connect_timeout_seconds = ParseInt(source, name, value, 1, 600);
  } else if (kArchiveTlsKeys.count(key)) {
    ApplyArchiveTlsKey(source, config, key, value);
  }
}

void ApplyDatabaseKey(std::string_view source, ArchiveConfig& config,
                      const std::string& key, const std::string& value) {
  if (key == "url") {
    config.database_url = value;
  } else if (key == "pool_size") {
    config.database_pool_size = ParseInt(source, "database.pool_size", value, 1, 64);
  }
}

FacilityConfig ParseFacility(std::string_view source, const std::string& section,
                             const pt::ptree& keys) {
  FacilityConfig facility;
  facility.name = section.substr(std::string("facility.").size());
  if (!IsValidFacilityName(facility.name)) {
    Fail(source, fmt::format("section '[{}]': facility name must be 1-64 letters, digits, "
                             "'_', '.' or '-', and not '.' or '..'", section));
  }
  for (const auto& [key, node] : keys) {
    if (ApplyFacilityTlsKey(source, section, facility, key, Trim(node.data()))) continue;
    if (!kFacilityKeys.count(key)) {
      Fail(source, fmt::format("unknown key '{}.{}'", section, key));
    }
    const std::string value = Trim(node.data());
    if (key == "store_ae_titles" || key == "query_ae_titles" || key == "archive_ae_titles") {
      auto& titles = key == "store_ae_titles"   ? facility.store_ae_titles
                     : key == "query_ae_titles" ? facility.query_ae_titles
                                                : facility.archive_ae_titles;
      titles = SplitList(value);
      for (const auto& ae : titles) {
        if (!IsValidAeTitle(ae)) {
          Fail(source, fmt::format("key '{}.{}': '{}' is not a valid AE title", section, key,
                                   ae));
        }
      }
    } else if (key == "move_destinations") {
      for (const auto& entry : SplitList(value)) {
        DestinationConfig destination;
        if (!ParseDestination(entry, &destination)) {
          Fail(source, fmt::format("key '{}.move_destinations': '{}' is not AE@host:port",
                                   section, entry));
        }
        facility.move_destinations.push_back(destination);
      }
    } else if (key == "report_destinations") {
      for (const auto& entry : SplitList(value)) {
        DestinationConfig destination;
        if (!ParseDestination(entry, &destination)) {
          Fail(source, fmt::format("key '{}.report_destinations': '{}' is not AE@host:port",
                                   section, entry));
        }
        facility.report_destinations.push_back(destination);
      }
    } else if (key == "provision_contract") {
      facility.provision_contract = ParseBool(source, section + ".provision_contract", value);
    } else if (key == "provision_quota_bytes") {
      facility.provision_quota_bytes =
          ParseBytes(source, section + ".provision_quota_bytes", value);
      if (facility.provision_quota_bytes <= 0) {
        Fail(source, fmt::format("key '{}.provision_quota_bytes' must be positive", section));
      }
    } else if (key == "allowed_peers") {
      facility.allowed_peers = SplitList(value);
      for (const auto& peer : facility.allowed_peers) {
        const PeerCheck check = CheckPeer(peer);
        if (check == PeerCheck::kMalformed) {
          Fail(source, fmt::format("key '{}.allowed_peers': '{}' is not an IP address or "
                                   "CIDR network", section, peer));
        }
        if (check == PeerCheck::kHostBitsSet) {
          Fail(source, fmt::format("key '{}.allowed_peers': '{}' has host bits set after the "
                                   "prefix length; write the network address (e.g. "
                                   "10.0.0.0/8)", section, peer));
        }
      }
    }
  }
  for (const auto& destination : facility.report_destinations) {
    if (std::find(facility.store_ae_titles.begin(), facility.store_ae_titles.end(),
                  destination.ae_title) == facility.store_ae_titles.end()) {
      Fail(source, fmt::format("key '{}.report_destinations': '{}' is not one of the "
                               "facility's store_ae_titles",
                               section, destination.ae_title));
    }
  }
  return facility;
}

}  // namespace

bool IsValidAeTitle(std::string_view text) {
  if (text.empty() || text.size() > 16) return false;
  bool has_non_space = false;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || c == '\\') return false;
    if (c != ' ') has_non_space = true;
  }
  return has_non_space && text.front() != ' ' && text.back() != ' ';
}

ArchiveConfig ParseConfig(std::string_view text, std::string_view source,
                          const ConfigOverrides& overrides) {
  pt::ptree tree;
  try {
    std::istringstream stream{std::string(text)};
    pt::ini_parser::read_ini(stream, tree);
  } catch (const pt::ini_parser_error& error) {
    Fail(source, fmt::format("line {}: {}", error.line(), error.message()));
  }

  ArchiveConfig config;
  for (const auto& [section, keys] : tree) {
    if (!keys.data().empty()) {
      Fail(source, fmt::format("key '{}' is outside any [section]", section));
    }
    if (section == "archive" || section == "database") {
      const auto& known = section == "archive" ? kArchiveKeys : kDatabaseKeys;
      for (const auto& [key, node] : keys) {
        const bool is_known = section == "archive" ? IsArchiveKey(key) : known.count(key) > 0;
        if (!is_known) Fail(source, fmt::format("unknown key '{}.{}'", section, key));
        const std::string value = Trim(node.data());
        if (section == "archive") ApplyArchiveKey(source, config, key, value);
        else ApplyDatabaseKey(source, config, key, value);
      }
    } else if (section.rfind("facility.", 0) == 0) {
      FacilityConfig facility = ParseFacility(source, section, keys);
      std::set<std::string> seen_ae_titles;
      for (const auto* titles : {&facility.store_ae_titles, &facility.query_ae_titles}) {
        for (const auto& ae : *titles) {
          if (!seen_ae_titles.insert(ae).second) {
            Fail(source, fmt::format("section '[{}]': AE title '{}' is listed twice (a "
                                     "caller is in one list of a facility)", section, ae));
          }
        }
      }
      config.facilities.push_back(std::move(facility));
    } else {
      Fail(source, fmt::format("unknown section '[{}]'", section));
    }
  }

  for (const auto& [name, value] : overrides) {
    const auto dot = name.find('.');
    const std::string section = name.substr(0, dot);
    const std::string key = dot == std::string::npos ? "" : name.substr(dot + 1);
    if (section == "archive" && IsArchiveKey(key)) {
      ApplyArchiveKey("command line", config, key, Trim(value));
    } else if (section == "database" && kDatabaseKeys.count(key)) {
      ApplyDatabaseKey("command line", config, key, Trim(value));
    } else {
      Fail("command line", fmt::format("unknown key '{}'", name));
    }
  }

  if (config.database_url.empty()) {
    Fail(source, "key 'database.url' is required (or set HOKAN_DATABASE_URL, "
                 "or pass --database-url)");
  }
  if (config.node_name.empty()) config.node_name = DefaultNodeName(config.port);
  CheckFacilityIdentity(config, source);
  CheckArchiveTls(config, source);
  return config;
}

ArchiveConfig LoadConfig(const std::filesystem::path& path,
                         const ConfigOverrides& overrides) {
  std::ifstream file(path);
  if (!file) {
    Fail(path.string(), "cannot read the configuration file");
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str(), path.string(), overrides);
}

}  // namespace hokan::archive
