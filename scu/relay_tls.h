#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <optional>

#include "dicom/tls_transport.h"
#include "scu/relay_config.h"

namespace hokan::relay {

// The relay's DICOM TLS port settings ([relay] tls_*); none without a
// tls_port. A client certificate is required exactly when
// tls_trusted_certificates are configured.
std::optional<dicom::TlsSettings> IncomingTls(const RelayConfig& config);

// DICOM TLS towards the archive ([archive] tls = true): the relay's
// certificate and key, the archive's certificate checked against
// tls_trusted_certificates. None when the archive is reached in plain.
std::optional<dicom::TlsSettings> ArchiveTls(const RelayConfig& config);

}  // namespace hokan::relay
