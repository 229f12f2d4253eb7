#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dcmtk/dcmnet/assoc.h"

#include "archive/config/config.h"
#include "dicom/tls_transport.h"
#include "dicom/tls_trust.h"

namespace hokan::scp {

// The archive's own TLS identity and trust: tls_certificate,
// tls_private_key, tls_profile and tls_trusted_certificates of [archive].
dicom::TlsSettings ArchiveTlsSettings(const archive::ArchiveConfig& config);

// DICOM TLS for an association to the destination ae_title@host:port when
// a facility lists it as a move destination with "/tls": the archive's
// tls_certificate and tls_private_key identify it, the destination's
// certificate must chain to tls_trusted_certificates. Else none.
std::optional<dicom::TlsSettings> OutgoingTls(const archive::ArchiveConfig& config,
                                              const std::string& ae_title,
                                              const std::string& host, int port);

// What DICOM TLS asks of each facility's callers, applied once admission
// has decided the facility ([facility.NAME] tls_required and
// trusted_certificates). Thread-safe once constructed.
class FacilityTlsPolicy {
 public:
  // Loads each facility's trusted certificates. Throws
  // hokan::Error(kConfiguration) naming a file that cannot be loaded.
  explicit FacilityTlsPolicy(const archive::ArchiveConfig& config);

  // Empty when `association` may be served for the facility named
  // `facility_name`; else why it must be refused: it came on the plain
  // port of a facility that requires TLS, or its client certificate does
  // not chain to the facility's trusted certificates.
  std::string Refusal(const std::string& facility_name, T_ASC_Association& association) const;

 private:
  struct Rule {
    bool tls_required = false;
    std::unique_ptr<dicom::TlsTrustedCertificates> trusted;  // null: any client certificate
  };
  std::map<std::string, Rule> rules_;  // by facility name; only facilities with a rule
};

}  // namespace hokan::scp
