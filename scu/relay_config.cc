#include "scu/relay_config.h"

#include <unistd.h>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "archive/common/byte_count.h"
#include "archive/common/error.h"
#include "scu/archive_peer.h"
#include "archive/common/log.h"

namespace hokan::relay {
namespace {

namespace pt = boost::property_tree;

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kConfiguration, fmt::format("{}: {}", source, what));
}

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream stream(text);
  while (std::getline(stream, item, ',')) {
    item = Trim(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

bool IsValidAeTitle(const std::string& text) {
  if (text.empty() || text.size() > 16) return false;
  for (char c : text) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

// Parses one value of `key` (named "section.key" in errors) into the config.
class KeyParser {
 public:
  KeyParser(std::string source, std::string name, std::string value)
      : source_(std::move(source)), name_(std::move(name)), value_(std::move(value)) {}

  [[noreturn]] void Bad(const std::string& expected) const {
    Fail(source_, fmt::format("key '{}' must be {}, got '{}'", name_, expected, value_));
  }
  std::int64_t Integer(std::int64_t minimum, std::int64_t maximum) const {
    std::size_t used = 0;
    long long parsed = 0;
    try {
      parsed = std::stoll(value_, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value_.size() || parsed < minimum || parsed > maximum) {
      Bad(fmt::format("a whole number from {} to {}", minimum, maximum));
    }
    return parsed;
  }
  int Int(int minimum, int maximum) const { return static_cast<int>(Integer(minimum, maximum)); }
  std::int64_t Bytes() const {
    const auto bytes = ParseByteCount(value_);
    if (!bytes) Bad("a byte count like 1073741824 or 1G");
    return *bytes;
  }
  std::string AeTitle() const {
    if (!IsValidAeTitle(value_)) Bad("an AE title of 1-16 characters without backslash");
    return value_;
  }
  std::vector<std::string> AeTitles() const {
    std::vector<std::string> titles = SplitList(value_);
    for (const auto& title : titles) {
      if (!IsValidAeTitle(title)) Bad("a comma-separated list of AE titles (1-16 characters)");
    }
    return titles;
  }
  std::string NonEmpty() const {
    if (value_.empty()) Bad("not empty");
    return value_;
  }
  const std::string& value() const { return value_; }

 private:
  std::string source_;
  std::string name_;
  std::string value_;
};

using Setter = std::function<void(RelayConfig&, const KeyParser&)>;
using Section = std::map<std::string, Setter>;

// [relay]: this relay's own AE, port, spool and modalities.
Section RelaySection() {
  return {
      {"ae_title", [](RelayConfig& c, const KeyParser& p) { c.ae_title = p.AeTitle(); }},
      {"port", [](RelayConfig& c, const KeyParser& p) { c.port = p.Int(1, 65535); }},
      {"spool_dir", [](RelayConfig& c, const KeyParser& p) { c.spool_dir = p.NonEmpty(); }},
      {"node_name", [](RelayConfig& c, const KeyParser& p) { c.node_name = p.NonEmpty(); }},
      {"modality_ae_titles",
       [](RelayConfig& c, const KeyParser& p) { c.modality_ae_titles = p.AeTitles(); }},
      {"commitment_ae_titles",
       [](RelayConfig& c, const KeyParser& p) { c.commitment_ae_titles = p.AeTitles(); }},
      {"modality_addresses",
       [](RelayConfig& c, const KeyParser& p) { c.modality_addresses = p.value(); }},
      {"min_free_bytes",
       [](RelayConfig& c, const KeyParser& p) { c.min_free_bytes = p.Bytes(); }},
      {"association_request_deadline_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.association_request_deadline_seconds = p.Int(1, 3600);
       }},
      {"max_half_open_per_address",
       [](RelayConfig& c, const KeyParser& p) { c.max_half_open_per_address = p.Int(1, 1000); }},
      {"log_level",
       [](RelayConfig& c, const KeyParser& p) {
         LogLevel level;
         if (!ParseLogLevel(p.value(), &level)) p.Bad("error, warn, info or debug");
         c.log_level = p.value();
       }},
  };
}

// [archive]: where and how the relay forwards.
Section ArchiveSection() {
  return {
      {"ae_title",
       [](RelayConfig& c, const KeyParser& p) { c.archive_ae_title = p.AeTitle(); }},
      {"host", [](RelayConfig& c, const KeyParser& p) { c.archive_host = p.NonEmpty(); }},
      {"port", [](RelayConfig& c, const KeyParser& p) { c.archive_port = p.Int(1, 65535); }},
      {"parallel_associations",
       [](RelayConfig& c, const KeyParser& p) { c.parallel_associations = p.Int(1, 64); }},
      {"acse_timeout_seconds",
       [](RelayConfig& c, const KeyParser& p) { c.acse_timeout_seconds = p.Int(1, 3600); }},
      {"dimse_timeout_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.dimse_timeout_seconds = p.Int(1, 86400);
       }},
      {"commitment_report_wait_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.commitment_report_wait_seconds = p.Int(0, 3600);
       }},
      {"report_addresses",
       [](RelayConfig& c, const KeyParser& p) {
         c.archive_report_addresses = SplitList(p.value());
         for (const auto& address : c.archive_report_addresses) {
           if (CanonicalIpAddress(address).empty()) p.Bad("a list of IP addresses");
         }
       }},
      {"contract_refresh_seconds",
       [](RelayConfig& c, const KeyParser& p) { c.contract_refresh_seconds = p.Int(0, 86400); }},
  };
}

// [timing]: when the spool is forwarded and kept.
Section TimingSection() {
  return {
      {"mode",
       [](RelayConfig& c, const KeyParser& p) {
         if (p.value() == "on_receipt") {
           c.timing = BackupTiming::kOnReceipt;
         } else if (p.value() == "nightly") {
           c.timing = BackupTiming::kNightly;
         } else if (p.value() == "per_exam") {
           c.timing = BackupTiming::kPerExam;
         } else {
           p.Bad("on_receipt, nightly or per_exam");
         }
       }},
      {"nightly_at",
       [](RelayConfig& c, const KeyParser& p) {
         const std::string& v = p.value();
         if (v.size() != 5 || v[2] != ':' || !std::isdigit(static_cast<unsigned char>(v[0])) ||
             !std::isdigit(static_cast<unsigned char>(v[1])) ||
             !std::isdigit(static_cast<unsigned char>(v[3])) ||
             !std::isdigit(static_cast<unsigned char>(v[4]))) {
           p.Bad("a UTC time HH:MM");
         }
         const int hours = std::stoi(v.substr(0, 2));
         const int minutes = std::stoi(v.substr(3, 2));
         if (hours > 23 || minutes > 59) p.Bad("a UTC time HH:MM");
         c.nightly_at = std::chrono::minutes(hours * 60 + minutes);
       }},
      {"exam_quiet_minutes",
       [](RelayConfig& c, const KeyParser& p) {
         c.exam_quiet = std::chrono::minutes(p.Int(1, 7 * 24 * 60));
       }},
      {"low_space_watermark_bytes",
       [](RelayConfig& c, const KeyParser& p) { c.low_space_watermark_bytes = p.Bytes(); }},
      {"keep_days", [](RelayConfig& c, const KeyParser& p) { c.keep_days = p.Int(0, 3650); }},
      {"retry_initial_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.retry_initial = std::chrono::seconds(p.Int(1, 86400));
       }},
      {"retry_max_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.retry_max = std::chrono::seconds(p.Int(1, 7 * 86400));
       }},
      {"commitment_wait_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.commitment_wait = std::chrono::seconds(p.Int(1, 7 * 86400));
       }},
  };
}

// [selection]: what the relay forwards.
Section SelectionSection() {
  return {
      {"opted_out_patient_ids",
       [](RelayConfig& c, const KeyParser& p) {
         c.opted_out_patient_ids = SplitList(p.value());
       }},
      {"modalities",
       [](RelayConfig& c, const KeyParser& p) { c.modalities = SplitList(p.value()); }},
  };
}

// [pull]: the facility PACS the relay pulls from.
Section PullSection() {
  return {
      {"ae_title", [](RelayConfig& c, const KeyParser& p) { c.pull_ae_title = p.AeTitle(); }},
      {"host", [](RelayConfig& c, const KeyParser& p) { c.pull_host = p.NonEmpty(); }},
      {"port", [](RelayConfig& c, const KeyParser& p) { c.pull_port = p.Int(1, 65535); }},
      {"interval_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.pull_interval = std::chrono::seconds(p.Int(1, 7 * 86400));
       }},
  };
}

// [import]: the folder the relay imports from.
Section ImportSection() {
  return {
      {"dir", [](RelayConfig& c, const KeyParser& p) { c.import_dir = p.NonEmpty(); }},
      {"poll_interval_seconds",
       [](RelayConfig& c, const KeyParser& p) {
         c.poll_interval = std::chrono::seconds(p.Int(1, 3600));
       }},
  };
}

// DICOM TLS keys (issue 14): [relay] tls_*, [archive] tls.
void AddTlsKeys(std::map<std::string, Section>& sections) {
  Section& relay = sections.at("relay");
  relay["tls_port"] = [](RelayConfig& c, const KeyParser& p) { c.tls_port = p.Int(0, 65535); };
  relay["tls_certificate"] = [](RelayConfig& c, const KeyParser& p) {
    c.tls_certificate = p.NonEmpty();
  };
  relay["tls_private_key"] = [](RelayConfig& c, const KeyParser& p) {
    c.tls_private_key = p.NonEmpty();
  };
  relay["tls_profile"] = [](RelayConfig& c, const KeyParser& p) {
    static const std::set<std::string> profiles = {"BCP195", "BCP195-ND", "BCP195-EX", "AES"};
    if (!profiles.count(p.value())) p.Bad("BCP195, BCP195-ND, BCP195-EX or AES");
    c.tls_profile = p.value();
  };
  relay["tls_trusted_certificates"] = [](RelayConfig& c, const KeyParser& p) {
    c.tls_trusted_certificates = SplitList(p.value());
  };
  sections.at("archive")["tls"] = [](RelayConfig& c, const KeyParser& p) {
    if (p.value() != "true" && p.value() != "false") p.Bad("true or false");
    c.archive_tls = p.value() == "true";
  };
}

// A TLS port or TLS to the archive needs the relay's certificate and key;
// TLS to the archive also needs the certificates the archive's must chain to.
void CheckTls(const RelayConfig& config, const std::string& source) {
  if ((config.tls_port != 0 || config.archive_tls) &&
      (config.tls_certificate.empty() || config.tls_private_key.empty())) {
    Fail(source, "keys 'relay.tls_certificate' and 'relay.tls_private_key' are required with "
                 "'relay.tls_port' or 'archive.tls'");
  }
  if (config.tls_port != 0 && config.tls_port == config.port) {
    Fail(source, "key 'relay.tls_port' must differ from 'relay.port'");
  }
  if (config.archive_tls && config.tls_trusted_certificates.empty()) {
    Fail(source, "key 'relay.tls_trusted_certificates' is required with 'archive.tls' (the "
                 "archive's certificate must chain to one of them)");
  }
}

const std::map<std::string, Section>& Sections() {
  static const std::map<std::string, Section> sections = [] {
    std::map<std::string, Section> all = {
      {"relay", RelaySection()},
      {"archive", ArchiveSection()},
      {"timing", TimingSection()},
      {"selection", SelectionSection()},
      {"pull", PullSection()},
      {"import", ImportSection()},
    };
    AddTlsKeys(all);
    return all;
  }();
  return sections;
}

std::string DefaultNodeName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "relay";
  return host;
}

}  // namespace

RelayConfig ParseRelayConfig(const std::string& text, const std::string& source) {
  pt::ptree tree;
  try {
    std::istringstream stream(text);
    pt::read_ini(stream, tree);
  } catch (const pt::ini_parser_error& error) {
    Fail(source, fmt::format("line {}: {}", error.line(), error.message()));
  }
  RelayConfig config;
  const auto& sections = Sections();
  for (const auto& [section_name, section] : tree) {
    if (section.empty() && !section.data().empty()) {
      Fail(source, fmt::format("key '{}' is outside any section", section_name));
    }
    const auto known = sections.find(section_name);
    if (known == sections.end()) {
      Fail(source, fmt::format("unknown section [{}] (known: relay, archive, timing, "
                               "selection, pull, import)",
                               section_name));
    }
    for (const auto& [key, value] : section) {
      const std::string name = section_name + "." + key;
      const auto setter = known->second.find(key);
      if (setter == known->second.end()) Fail(source, fmt::format("unknown key '{}'", name));
      const KeyParser parser(source, name, Trim(value.data()));
      setter->second(config, parser);
    }
  }
  if (config.modality_ae_titles.empty() && !config.pull_ae_title && !config.import_dir) {
    Fail(source, "key 'relay.modality_ae_titles' is required (unless [pull] or [import] is "
                 "the only source)");
  }
  for (const auto& title : config.commitment_ae_titles) {
    if (std::find(config.modality_ae_titles.begin(), config.modality_ae_titles.end(), title) ==
        config.modality_ae_titles.end()) {
      Fail(source, fmt::format("key 'relay.commitment_ae_titles': '{}' is not one of "
                               "relay.modality_ae_titles",
                               title));
    }
  }
  if (config.timing == BackupTiming::kNightly && !config.nightly_at) {
    Fail(source, "key 'timing.nightly_at' is required when timing.mode = nightly");
  }
  if (config.pull_ae_title && (config.pull_host.empty() || config.pull_port == 0)) {
    Fail(source, "keys 'pull.host' and 'pull.port' are required with pull.ae_title");
  }
  if (!config.pull_ae_title && (!config.pull_host.empty() || config.pull_port != 0)) {
    Fail(source, "key 'pull.ae_title' is required with pull.host and pull.port");
  }
  if (config.retry_max < config.retry_initial) {
    Fail(source, "key 'timing.retry_max_seconds' must not be under timing.retry_initial_seconds");
  }
  CheckTls(config, source);
  if (config.node_name.empty()) config.node_name = DefaultNodeName();
  return config;
}

RelayConfig LoadRelayConfig(const std::filesystem::path& file) {
  std::ifstream stream(file);
  if (!stream) {
    Fail(file.string(), "cannot read the configuration file");
  }
  std::stringstream text;
  text << stream.rdbuf();
  return ParseRelayConfig(text.str(), file.string());
}

std::filesystem::path QueueDatabaseFile(const RelayConfig& config) {
  return std::filesystem::absolute(config.spool_dir) / "queue.sqlite";
}

}  // namespace hokan::relay
