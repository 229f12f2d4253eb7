// hokan-archive: the archive node's DICOM SCP.
#include "dcmtk/config/osconfig.h"  // must come first

#include <csignal>
#include <functional>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/oflog/oflog.h"

#include "archive/commitment/commitment_service.h"
#include "archive/contract/contract_timing_service.h"
#include "archive/common/error.h"
#include "archive/common/log.h"
#include "archive/config/config.h"
#include "archive/index/database.h"
#include "archive/index/instance_index.h"
#include "archive/index/query_index.h"
#include "archive/ingest/group_committer.h"
#include "archive/index/storage_conditions_index.h"
#include "archive/index/job_queue.h"
#include "archive/jobs/job_runner.h"
#include "archive/index/retention_index.h"
#include "archive/retention/expiry_job.h"
#include "archive/retention/expiry_service.h"
#include "archive/ingest/ingest_service.h"
#include "billing/fee_recorder.h"
#include "billing/purposes.h"
#include "archive/storage/fs_file_store.h"
#include "archive/storage/storage_root_guard.h"
#include "scp/association_server.h"
#include "scp/commitment_report_job.h"
#include "dicom/dicomdir_writer.h"
#include "archive/export/offline_export_job.h"
#include "billing/usage_sampling.h"
#include "archive/export/offline_export_service.h"
#include "archive/index/export_index.h"
#include "dicom/dicom_sender.h"
#include "schema/embedded_migrations.h"

namespace po = boost::program_options;
using namespace hokan;

namespace {

struct CommandLine {
  std::string config_path;
  archive::ConfigOverrides overrides;
  bool migrate_only = false;
  bool adopt_storage_root = false;
};

// Parses the command line; exits for --help and for usage errors.
CommandLine ParseCommandLine(int argc, char** argv) {
  po::options_description options("hokan-archive options");
  options.add_options()
      ("help,h", "show this help and exit")
      ("config,c", po::value<std::string>(), "configuration file (INI), required")
      ("ae-title", po::value<std::string>(), "override [archive] ae_title")
      ("port", po::value<std::string>(), "override [archive] port")
      ("storage-root", po::value<std::string>(), "override [archive] storage_root")
      ("max-associations", po::value<std::string>(), "override [archive] max_associations")
      ("max-pdu-bytes", po::value<std::string>(), "override [archive] max_pdu_bytes")
      ("acse-timeout", po::value<std::string>(), "override [archive] acse_timeout_seconds")
      ("dimse-timeout", po::value<std::string>(), "override [archive] dimse_timeout_seconds")
      ("log-level", po::value<std::string>(), "override [archive] log_level")
      ("node-name", po::value<std::string>(), "override [archive] node_name")
      ("database-url", po::value<std::string>(),
       "override [database] url (default: $HOKAN_DATABASE_URL, then the file)")
      ("migrate-only", "apply the schema migrations and exit")
      ("adopt-storage-root",
       "mark the storage root for this database although it has no marker or another "
       "database's (after moving a root; see docs/architecture.md)");
  po::variables_map values;
  try {
    po::store(po::parse_command_line(argc, argv, options), values);
    po::notify(values);
  } catch (const po::error& error) {
    std::cerr << "hokan-archive: " << error.what() << "\n" << options;
    std::exit(2);
  }
  if (values.count("help")) {
    std::cout << options;
    std::exit(0);
  }
  if (!values.count("config")) {
    std::cerr << "hokan-archive: --config FILE is required (see config/hokan.example.ini)\n";
    std::exit(2);
  }
  CommandLine command_line;
  command_line.config_path = values["config"].as<std::string>();
  command_line.migrate_only = values.count("migrate-only") > 0;
  command_line.adopt_storage_root = values.count("adopt-storage-root") > 0;
  const std::pair<const char*, const char*> keys[] = {
      {"ae-title", "archive.ae_title"},
      {"port", "archive.port"},
      {"storage-root", "archive.storage_root"},
      {"max-associations", "archive.max_associations"},
      {"max-pdu-bytes", "archive.max_pdu_bytes"},
      {"acse-timeout", "archive.acse_timeout_seconds"},
      {"dimse-timeout", "archive.dimse_timeout_seconds"},
      {"log-level", "archive.log_level"},
      {"node-name", "archive.node_name"},
      {"database-url", "database.url"},
  };
  if (const char* url = std::getenv("HOKAN_DATABASE_URL"); url && *url) {
    command_line.overrides["database.url"] = url;
  }
  for (const auto& [option, key] : keys) {
    if (values.count(option)) command_line.overrides[key] = values[option].as<std::string>();
  }
  return command_line;
}

// Blocks SIGINT and SIGTERM, to be taken by one thread with sigwait so no
// handler runs in the middle of DCMTK or libpq code. Call before any thread
// starts, so every thread inherits the mask.
sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

// The configuration, with logging set up and the DICOM dictionary checked.
archive::ArchiveConfig LoadCheckedConfig(const CommandLine& command_line) {
  archive::ArchiveConfig config =
      archive::LoadConfig(command_line.config_path, command_line.overrides);
  SetLogLevel(config.log_level);
  OFLog::configure(config.log_level == LogLevel::kDebug ? OFLogger::INFO_LOG_LEVEL
                                                        : OFLogger::FATAL_LOG_LEVEL);
  if (!dcmDataDict.isDictionaryLoaded()) {
    throw Error(ErrorCode::kConfiguration,
                "the DICOM data dictionary is not loaded: install DCMTK's dictionary "
                "(libdcmtk17) or set DCMDICTPATH");
  }
  return config;
}

void MigrateSchema(archive::Database& database) {
  const int applied = archive::ApplyMigrations(database, schema::EmbeddedMigrations());
  Log(LogLevel::kInfo, "database schema is current ({} migration(s) applied now)", applied);
}

// Serves associations until SIGINT or SIGTERM, with the job runner running.
void ServeUntilSignalled(scp::AssociationServer& server, archive::JobRunner& job_runner,
                         const sigset_t& signals, const archive::ArchiveConfig& config,
                         const std::filesystem::path& storage_root) {
  server.Open();
  job_runner.Start();
  std::thread signal_waiter([&server, signals] {
    int received = 0;
    sigwait(&signals, &received);
    Log(LogLevel::kInfo, "received signal {}, shutting down", received);
    server.Stop();
  });
  Log(LogLevel::kInfo, "storage root {}, node {}, {} facilities, up to {} associations",
      storage_root.string(), config.node_name, config.facilities.size(),
      config.max_associations);
  std::cout << fmt::format("hokan-archive listening on port {} as AE title {}", config.port,
                           config.ae_title)
            << std::endl;
  if (config.tls_port != 0) {
    std::cout << fmt::format("hokan-archive listening for DICOM TLS ({}) on port {}",
                             config.tls_profile, config.tls_port)
              << std::endl;
  }
  server.Serve();
  job_runner.Stop();
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
}

// Makes sure the storage root is this database's before anything touches
// it (archive/storage/storage_root_guard.h); returns the installation id.
std::string ClaimStorageRoot(archive::Database& database, const archive::ArchiveConfig& config,
                             bool adopt) {
  const archive::StorageRootClaim claim =
      archive::ClaimStorageRoot(database, config.storage_root, adopt);
  if (claim.adopted_from) {
    Log(LogLevel::kWarn, "storage root {} adopted for installation {} (it named {})",
        config.storage_root.string(), claim.installation_id,
        claim.adopted_from->empty() ? "none" : *claim.adopted_from);
  } else if (claim.marked_now) {
    Log(LogLevel::kInfo, "storage root {} marked for installation {}",
        config.storage_root.string(), claim.installation_id);
  }
  return claim.installation_id;
}

// Expiry's check before it deletes: the root still carries this
// installation's marker (not, say, a volume unmounted since the start).
std::function<void()> StorageRootCheck(const archive::FsFileStore& files,
                                       const std::string& installation_id) {
  return [&files, installation_id] {
    archive::RequireStorageRoot(files.root(), installation_id);
  };
}

int Run(const CommandLine& command_line) {
  const sigset_t signals = BlockTerminationSignals();
  const archive::ArchiveConfig config = LoadCheckedConfig(command_line);
  archive::Database database(config.database_url, config.database_pool_size + 3);
  MigrateSchema(database);
  if (command_line.migrate_only) return 0;

  const std::string installation_id =
      ClaimStorageRoot(database, config, command_line.adopt_storage_root);
  archive::InstanceIndex index(database);
  index.SyncConfiguredFacilities(config.facilities);
  archive::FsFileStore files(config.storage_root, config.node_name);
  archive::GroupCommitter committer(files, index);
  archive::StorageConditionsIndex storage_conditions(database);
  archive::IngestService ingest(files, index, committer, storage_conditions,
                                config.free_space_floor_bytes, config.limits.max_object_bytes);
  if (const int settled = ingest.RecoverInterruptedStores(); settled > 0) {
    Log(LogLevel::kWarn, "start-up sweep settled {} leftover(s) of interrupted stores", settled);
  }

  archive::QueryIndex query(database);
  dicom::DicomSender::RegisterDecoders();
  dicom::SetConnectTimeout(config.connect_timeout_seconds);

  // Expiry, contract end and quota recycling (archive/retention); declared
  // before the job runner, which uses it until it stops.
  archive::RetentionIndex retention_index(database);
  archive::ExpiryService expiry(retention_index, files, StorageRootCheck(files, installation_id));

  // Deluxe offline export (declared before the job runner, which uses it
  // until it stops).
  archive::ExportIndex export_index(database);
  dicom::DcmtkFileSetWriter file_set_writer;
  archive::OfflineExportService offline_export(export_index, file_set_writer, files,
                                               config.export_root);

  // Background work shared with the other nodes on this database (expiry,
  // commitment reports, offline exports): each area registers its job
  // handlers and schedulers here.
  archive::JobQueue jobs(database, config.node_name);
  archive::JobRunner job_runner(jobs, std::chrono::milliseconds(config.job_poll_milliseconds));
  const auto request_expiry = archive::RegisterExpiryJobs(
      job_runner, jobs, expiry,
      {std::chrono::seconds(config.expiry_interval_seconds), config.expiry_batch_size,
       "hokan-archive@" + config.node_name});
  ingest.OnRecycleNeeded([&job_runner, request_expiry] {
    request_expiry();
    job_runner.Wake();
  });

  // Storage Commitment: a report goes first on the requester's association;
  // its job sends it on a new association when that did not work, or after
  // a restart once the association's chance (DIMSE timeout + 30 s) is over.
  archive::CommitmentService commitment(
      database, files, config.node_name,
      std::chrono::seconds(config.dimse_timeout_seconds + 30));
  const dicom::ReportSenderSettings report_sender{config.ae_title, config.acse_timeout_seconds,
                                                config.dimse_timeout_seconds,
                                                config.max_pdu_bytes};
  job_runner.Handle(archive::CommitmentIndex::kReportJobKind,
                    [&commitment, &report_sender](const archive::Job& job) {
                      return scp::RunCommitmentReportJob(job, commitment, report_sender);
                    });

  // Deluxe offline export: every day at the contract's export_at, a
  // DICOMDIR file set of what the facility received since its last export.
  archive::RegisterOfflineExportJobs(job_runner, jobs, export_index, offline_export,
                                     config.node_name);
  // Daily usage samples for storage billing (billing/usage_sampling.h).
  billing::RegisterUsageSampleJobs(job_runner, jobs, database);

  // Purposes (own AE titles, fees); the relays' contract N-GET (scp/contract_handler.h).
  billing::PurposeDirectory purposes(database);
  billing::FeeRecorder fees(database);
  archive::ContractTimingService contract_timing(storage_conditions);
  scp::AssociationServer server(config, index, query, files, ingest, &commitment, &purposes,
                                &fees, &contract_timing);
  ServeUntilSignalled(server, job_runner, signals, config, files.root());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const CommandLine command_line = ParseCommandLine(argc, argv);
  try {
    return Run(command_line);
  } catch (const Error& error) {
    std::cerr << "hokan-archive: " << error.what() << std::endl;
    return error.code() == ErrorCode::kConfiguration ? 2 : 1;
  } catch (const std::exception& error) {
    std::cerr << "hokan-archive: unexpected failure: " << error.what() << std::endl;
    return 1;
  }
}
