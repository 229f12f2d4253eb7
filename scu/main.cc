// hokan-forward: the facility's store-and-forward relay.
//   hokan-forward run --config FILE
//   hokan-forward status --config FILE [--items]
#include "dcmtk/config/osconfig.h"  // must come first

#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/oflog/oflog.h"

#include <pthread.h>
#include <signal.h>

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "archive/common/error.h"
#include "archive/common/log.h"
#include "dicom/dicom_sender.h"
#include "scu/contract_refresh.h"
#include "scu/folder_import.h"
#include "scu/forwarder.h"
#include "scu/pull_sync.h"
#include "scu/relay_config.h"
#include "scu/relay_scp.h"
#include "scu/spool_queue.h"
#include "scu/spool_store.h"
#include "scu/status_command.h"

namespace hokan::relay {
namespace {

constexpr const char* kUsage =
    "usage: hokan-forward run --config FILE\n"
    "       hokan-forward status --config FILE [--items]\n";

struct CommandLine {
  std::string command;
  std::filesystem::path config_path;
  bool list_items = false;
};

std::optional<CommandLine> ParseCommandLine(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  CommandLine command_line;
  command_line.command = argv[1];
  if (command_line.command != "run" && command_line.command != "status") return std::nullopt;
  for (int i = 2; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--config" && i + 1 < argc) {
      command_line.config_path = argv[++i];
    } else if (argument == "--items" && command_line.command == "status") {
      command_line.list_items = true;
    } else {
      return std::nullopt;
    }
  }
  if (command_line.config_path.empty()) return std::nullopt;
  return command_line;
}

// Says where the relay listens, and where DICOM TLS is in use ([relay]
// tls_port, [archive] tls).
void AnnounceListening(const RelayConfig& config) {
  std::cout << fmt::format("hokan-forward listening on port {} as AE title {}", config.port,
                           config.ae_title)
            << std::endl;
  if (config.tls_port != 0) {
    std::cout << fmt::format("hokan-forward listening for DICOM TLS ({}) on port {}",
                             config.tls_profile, config.tls_port)
              << std::endl;
  }
  if (config.archive_tls) Log(LogLevel::kInfo, "forwarding to the archive over DICOM TLS");
}

// SIGINT and SIGTERM go to one sigwait thread: blocked here, before any
// thread starts; SIGPIPE is ignored. Returns the blocked set.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

int Run(const RelayConfig& config) {
  const sigset_t signals = BlockShutdownSignals();
  // DCMTK reads TCP_NODELAY when it opens each association socket, received
  // or requested; without it Debian's 3.6.7 leaves Nagle's algorithm on, and
  // small PDUs (responses, a data set's last piece) wait for the peer's
  // delayed ACK. Set before any thread starts (setenv is not thread-safe).
  ::setenv("TCP_NODELAY", "1", 1);

  if (!dcmDataDict.isDictionaryLoaded()) {
    throw Error(ErrorCode::kConfiguration,
                "the DICOM data dictionary is not loaded: install DCMTK's dictionary "
                "(libdcmtk17) or set DCMDICTPATH");
  }
  dicom::DicomSender::RegisterDecoders();

  SpoolQueue queue(QueueDatabaseFile(config));
  SpoolStore store(config.spool_dir, config.min_free_bytes, queue);
  if (const int removed = store.RemoveLeftovers(); removed > 0) {
    Log(LogLevel::kWarn, "start-up sweep removed {} incomplete incoming file(s)", removed);
  }
  if (const int recovered = queue.RecoverInterrupted(); recovered > 0) {
    Log(LogLevel::kWarn, "{} item(s) interrupted while sending are queued again", recovered);
  }

  Forwarder forwarder(config, queue, ParsePeerAddresses(config.modality_addresses));
  RelayScpHooks hooks;
  hooks.spooled = [&forwarder] { forwarder.InstanceSpooled(); };
  hooks.commitment_report = [&forwarder](const std::string& calling_ae,
                                         std::uint16_t event_type_id, DcmDataset& information) {
    return forwarder.HandleCommitmentReport(calling_ae, event_type_id, information);
  };
  hooks.commitment_request = [&forwarder](const std::string& calling_ae,
                                          DcmDataset& information) {
    return forwarder.HandleCommitmentRequest(calling_ae, information);
  };
  RelayServer server(config, store, hooks);
  server.Open();

  // The facility contract's backup timing, asked of the archive.
  ContractRefresh contract_refresh(
      config, [&forwarder](const EffectiveTiming& timing) { forwarder.UseTiming(timing); });
  contract_refresh.Start();
  forwarder.Start();
  std::unique_ptr<PullSync> pull;
  if (config.pull_ae_title) {
    pull = std::make_unique<PullSync>(config, QueueDatabaseFile(config));
    pull->Start();
  }
  std::unique_ptr<FolderImport> import;
  if (config.import_dir) {
    import = std::make_unique<FolderImport>(*config.import_dir, store,
                                            [&forwarder] { forwarder.InstanceSpooled(); });
    import->Start(config.poll_interval);
  }

  std::thread signal_waiter([&server, signals] {
    int received = 0;
    sigwait(&signals, &received);
    Log(LogLevel::kInfo, "received signal {}, shutting down", received);
    server.Stop();
  });
  Log(LogLevel::kInfo, "spool {}, forwarding to {}@{}:{}{}{}",
      std::filesystem::absolute(config.spool_dir).string(), config.archive_ae_title,
      config.archive_host, config.archive_port,
      config.pull_ae_title ? ", pulling from " + *config.pull_ae_title : std::string(),
      config.import_dir ? ", importing from " + config.import_dir->string() : std::string());
  AnnounceListening(config);
  server.Serve();
  if (import) import->Stop();
  if (pull) pull->Stop();
  contract_refresh.Stop();
  forwarder.Stop();
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  Log(LogLevel::kInfo, "hokan-forward stopped");
  return 0;
}

}  // namespace
}  // namespace hokan::relay

int main(int argc, char** argv) {
  using namespace hokan;
  const auto command_line = relay::ParseCommandLine(argc, argv);
  if (!command_line) {
    std::cerr << relay::kUsage;
    return 2;
  }
  try {
    const relay::RelayConfig config = relay::LoadRelayConfig(command_line->config_path);
    LogLevel level = LogLevel::kInfo;
    ParseLogLevel(config.log_level, &level);
    SetLogLevel(level);
    OFLog::configure(level == LogLevel::kDebug ? OFLogger::INFO_LOG_LEVEL
                                               : OFLogger::FATAL_LOG_LEVEL);
    if (command_line->command == "status") {
      return relay::RunStatus(config, command_line->list_items, std::cout);
    }
    return relay::Run(config);
  } catch (const Error& error) {
    std::cerr << "hokan-forward: " << error.what() << std::endl;
    return error.code() == ErrorCode::kConfiguration ? 2 : 1;
  } catch (const std::exception& error) {
    std::cerr << "hokan-forward: unexpected failure: " << error.what() << std::endl;
    return 1;
  }
}
