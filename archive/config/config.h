#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "archive/common/log.h"

namespace hokan::archive {

// A C-MOVE destination: where retrieved instances may be sent.
struct DestinationConfig {
  std::string ae_title;
  std::string host;
  int port = 0;
  // "AE@host:port/tls": associations to it use DICOM TLS (issue 14).
  bool tls = false;
};

// A facility (tenant) as the configuration file declares it.
struct FacilityConfig {
  std::string name;                          // [facility.NAME]
  std::vector<std::string> store_ae_titles;  // calling AE titles that may store (and query)
  std::vector<std::string> query_ae_titles;  // calling AE titles that may only query/retrieve
  std::vector<std::string> allowed_peers;    // addresses or CIDR networks; empty = any
  // The facility's own archive AE titles (a virtual archive on the same
  // port). Empty: its callers call the shared [archive] ae_title. Not
  // empty: they are admitted only when they call one of these, and the
  // shared AE title does not serve the facility (purposes' AE titles do).
  std::vector<std::string> archive_ae_titles;
  std::vector<DestinationConfig> move_destinations;  // "AE@host:port" entries
  // "AE@host:port": where Storage Commitment reports for AE (one of
  // store_ae_titles) go when its association has ended.
  std::vector<DestinationConfig> report_destinations;
  // When true and the facility has no contract at all in the database, the
  // archive gives it a provisional one at start-up (annual, from today for
  // one year, on receipt, all data, economy, storage period forever),
  // quota below. Meant for demos and tests; real contracts are managed with
  // `hokan contract`.
  bool provision_contract = false;
  std::int64_t provision_quota_bytes = 100LL << 30;  // 100 GiB
  // DICOM TLS (issue 14). tls_required: the facility's callers are refused
  // on the plain port (they must use [archive] tls_port). Non-empty
  // trusted_certificates (PEM files of CA or client certificates): a
  // caller is admitted for the facility only over TLS and with a client
  // certificate that chains to one of them (implies tls_required).
  bool tls_required = false;
  std::vector<std::string> trusted_certificates;
};

// What re-storing an existing SOP Instance UID with different content does.
enum class DuplicatePolicy {
  kReject,  // keep the stored copy, refuse the new one (status 0xC010)
};

// Bounds on what one request may cost the archive ([archive] keys of the
// same names; docs/configuration.md, "Resource limits"). 0 in a count or
// time: no limit.
struct ResourceLimits {
  int find_max_matches = 10000;             // more: C-FIND refused with 0xA700
  int find_statement_timeout_ms = 30000;    // per SQL statement of a C-FIND
  int max_identifier_keys = 256;            // C-FIND/C-MOVE/C-GET identifier elements
  std::int64_t max_identifier_bytes = 1 << 20;     // its encoded size
  int max_commitment_items = 50000;         // N-ACTION Referenced SOP Sequence items
  std::int64_t max_commitment_bytes = 16 << 20;    // N-ACTION data set, encoded
  std::int64_t max_object_bytes = 2LL << 30;       // one C-STORE data set, as received
};

// The archive node's configuration, validated: every field holds a usable
// value once LoadConfig/ParseConfig returns.
struct ArchiveConfig {
  std::string ae_title = "HOKAN";
  int port = 11112;
  std::filesystem::path storage_root = "var/storage";
  int max_associations = 16;
  int max_pdu_bytes = 65536;
  int acse_timeout_seconds = 30;
  int dimse_timeout_seconds = 60;
  // Slow or stalled clients (issue 14): the whole A-ASSOCIATE-RQ must
  // arrive within this many seconds of the connection being accepted, and
  // one peer address may have at most this many connections whose request
  // is incomplete.
  int association_request_deadline_seconds = 10;
  int max_half_open_per_address = 16;
  // Connections over all addresses whose request is incomplete.
  int max_half_open_connections = 256;
  // DICOM TLS (issue 14): a second port beside `port` whose associations
  // run over TLS (PS3.15 Annex B). 0: no TLS port. With a TLS port, the
  // certificate and private key (PEM files) are required; the profile is
  // one of BCP195 (default), BCP195-ND, BCP195-EX, AES. When
  // tls_trusted_certificates (PEM files of CA or client certificates) are
  // given, a client must present a certificate that chains to one of them;
  // without, none is required (see FacilityConfig::trusted_certificates).
  int tls_port = 0;
  std::string tls_certificate;
  std::string tls_private_key;
  std::string tls_profile = "BCP195";
  std::vector<std::string> tls_trusted_certificates;
  LogLevel log_level = LogLevel::kInfo;
  DuplicatePolicy duplicate_policy = DuplicatePolicy::kReject;
  // Names this node's temporary folder; several nodes may share a storage
  // root, each with its own name. Default: "<hostname>-<port>".
  std::string node_name;
  std::string database_url;  // libpq conninfo; required
  int database_pool_size = 4;
  // Storage conditions (issue 4). C-STOREs are refused with 0xA700 when the
  // storage root's free space is under this many bytes.
  std::int64_t free_space_floor_bytes = 1LL << 30;  // 1 GiB
  // Background jobs: how often the node looks for due work.
  int job_poll_milliseconds = 1000;
  // Expiry: how often the node schedules an expiry run, and how many
  // studies one batch deletes.
  int expiry_interval_seconds = 3600;
  int expiry_batch_size = 100;
  // Where deluxe offline exports write their media folders.
  std::filesystem::path export_root = "var/export";
  // Outgoing associations (issue 14, background work): seconds to wait for
  // the TCP connection to a C-MOVE destination or a commitment report
  // destination.
  int connect_timeout_seconds = 10;
  std::vector<FacilityConfig> facilities;
  ResourceLimits limits;
};

// Overrides as "section.key" → value, applied on top of the file (command
// line options and HOKAN_DATABASE_URL arrive this way).
using ConfigOverrides = std::map<std::string, std::string>;

// Parses INI text. `source` names the text in messages (usually the path).
// Throws hokan::Error(kConfiguration) with a message naming the offending
// section or key (unknown key, missing required key, bad value).
ArchiveConfig ParseConfig(std::string_view text, std::string_view source,
                          const ConfigOverrides& overrides);

// Reads and parses the file at `path`; a missing or unreadable file is an
// Error(kConfiguration) naming the path.
ArchiveConfig LoadConfig(const std::filesystem::path& path,
                         const ConfigOverrides& overrides);

// True when `text` is a valid AE title: 1-16 characters of the DICOM
// default repertoire without backslash or control characters, not all spaces.
bool IsValidAeTitle(std::string_view text);

}  // namespace hokan::archive
