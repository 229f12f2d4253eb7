#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hokan::relay {

// When the relay forwards (mirrors the facility contract's backup timing).
enum class BackupTiming {
  kOnReceipt,  // as soon as an instance is spooled
  kNightly,    // everything spooled before the day's nightly_at (UTC)
  kPerExam,    // a study once it has been quiet for exam_quiet
};

// hokan-forward's configuration (one INI file; see config/hokan-forward.example.ini).
struct RelayConfig {
  // [relay]
  std::string ae_title = "HOKAN_FWD";      // our AE title (SCP for modalities, SCU to the archive)
  int port = 11113;                         // where modalities send
  std::filesystem::path spool_dir = "var/relay";  // spool files and the queue database
  std::string node_name;                    // default: hostname
  std::vector<std::string> modality_ae_titles;  // calling AEs that may store here
  std::vector<std::string> commitment_ae_titles;  // of those, who may ask us for commitment
  // Where our own commitment reports go: "AE@host:port,…" (forwarder.h ParsePeerAddresses).
  std::string modality_addresses;
  // Under this free space on the spool volume C-STOREs are refused with 0xA700.
  std::int64_t min_free_bytes = 64LL << 20;
  // Slow or stalled clients: the whole A-ASSOCIATE-RQ must arrive within
  // this many seconds of the connection being accepted, and one peer
  // address may have at most this many connections whose request is
  // incomplete.
  int association_request_deadline_seconds = 10;
  int max_half_open_per_address = 16;
  // [archive]
  std::string archive_ae_title = "HOKAN";
  std::string archive_host = "localhost";
  int archive_port = 11112;
  int parallel_associations = 4;
  int acse_timeout_seconds = 30;
  int dimse_timeout_seconds = 60;
  // How long the relay keeps the commitment association open for the
  // archive's report (0: release at once; the report then comes on a new
  // association to the relay).
  int commitment_report_wait_seconds = 30;
  // Addresses besides those `archive_host` resolves to that the archive's
  // commitment reports may come from on a new association (e.g. the other
  // nodes of an archive cluster). IP addresses, canonical form not required.
  std::vector<std::string> archive_report_addresses;
  // How often the relay asks the archive for its facility's contract (the
  // backup timing, scu/contract_timing.h): at start, then every this many
  // seconds. 0: never; the [timing] section alone decides.
  int contract_refresh_seconds = 600;
  // [timing]. timing, nightly_at and exam_quiet: what the relay follows
  // until the archive answers the facility contract's timing, and while it
  // cannot (scu/contract_refresh.h).
  BackupTiming timing = BackupTiming::kOnReceipt;
  std::optional<std::chrono::minutes> nightly_at;  // minutes after 00:00 UTC (kNightly)
  std::chrono::minutes exam_quiet{30};              // kPerExam
  std::int64_t low_space_watermark_bytes = 5LL << 30;  // forward (and free) under this free space
  int keep_days = 7;                                 // keep committed copies this long, space permitting
  std::chrono::seconds retry_initial{5};
  std::chrono::seconds retry_max{600};
  std::chrono::seconds commitment_wait{120};  // ask again when no report came
  // [selection]: what the contract keeps
  std::vector<std::string> opted_out_patient_ids;
  std::vector<std::string> modalities;  // empty: all
  // [pull]: the facility's own PACS
  std::optional<std::string> pull_ae_title;
  std::string pull_host;
  int pull_port = 0;
  std::chrono::seconds pull_interval{3600};
  // [import]
  std::optional<std::filesystem::path> import_dir;
  std::chrono::seconds poll_interval{1};  // scheduler and folder polling
  std::string log_level = "info";
  // DICOM TLS (issue 14). [relay] tls_port: a second port where modalities
  // send over TLS (0: none); tls_certificate and tls_private_key (PEM)
  // identify the relay there and towards the archive; a TLS client's
  // certificate must chain to tls_trusted_certificates (empty: none is
  // asked for), and so must the archive's with archive_tls; tls_profile:
  // BCP195 (default), BCP195-ND, BCP195-EX or AES.
  int tls_port = 0;
  std::string tls_certificate;
  std::string tls_private_key;
  std::string tls_profile = "BCP195";
  std::vector<std::string> tls_trusted_certificates;
  // [archive] tls = true: forwarding and commitment requests to the archive
  // use DICOM TLS ([archive] port is then the archive's tls_port).
  bool archive_tls = false;
};

// The relay's SQLite file (<spool_dir>/queue.sqlite): the queue, the pull
// history and the modalities' commitment requests.
std::filesystem::path QueueDatabaseFile(const RelayConfig& config);

// Reads hokan-forward's INI file. Throws hokan::Error(kConfiguration) naming
// the file and the offending section or key: an unknown section or key, a
// bad value, or a missing required one ([relay] modality_ae_titles, and the
// [timing] nightly_at when timing = nightly).
RelayConfig LoadRelayConfig(const std::filesystem::path& file);
// The same for INI text; `source` names it in error messages.
RelayConfig ParseRelayConfig(const std::string& text, const std::string& source);

}  // namespace hokan::relay
