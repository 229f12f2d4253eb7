#include "dcmtk/config/osconfig.h"  // must come first

#include "scu/relay_tls.h"

namespace hokan::relay {
namespace {

dicom::TlsSettings RelayIdentity(const RelayConfig& config) {
  dicom::TlsSettings tls;
  tls.certificate_file = config.tls_certificate;
  tls.private_key_file = config.tls_private_key;
  tls.profile = config.tls_profile;
  tls.trusted_certificate_files = config.tls_trusted_certificates;
  return tls;
}

}  // namespace

std::optional<dicom::TlsSettings> IncomingTls(const RelayConfig& config) {
  if (config.tls_port == 0) return std::nullopt;
  dicom::TlsSettings tls = RelayIdentity(config);
  tls.peer_certificate = config.tls_trusted_certificates.empty()
                             ? dicom::TlsSettings::PeerCertificate::kIgnore
                             : dicom::TlsSettings::PeerCertificate::kRequire;
  return tls;
}

std::optional<dicom::TlsSettings> ArchiveTls(const RelayConfig& config) {
  if (!config.archive_tls) return std::nullopt;
  return RelayIdentity(config);
}

}  // namespace hokan::relay
