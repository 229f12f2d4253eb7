#pragma once

// Who may deliver the archive's Storage Commitment reports to the relay on
// an association the archive opens: only the archive the relay forwards to.

#include <string>
#include <vector>

#include "scu/relay_config.h"

namespace hokan::relay {

// The IP address `text` in its canonical form ("127.0.0.1", "::1"), or ""
// when it is not an IPv4 or IPv6 address. An IPv4-mapped IPv6 address
// becomes its IPv4 form.
std::string CanonicalIpAddress(const std::string& text);

// Decides whether a new association whose calling AE title is the
// archive's ([archive] ae_title) is the archive: its peer address must be
// one [archive] host resolves to (looked up at each such association, so a
// changed address is followed) or one listed in [archive] report_addresses;
// and with [archive] tls = true it must have come over the relay's TLS port
// (whose clients must present a certificate chaining to
// tls_trusted_certificates). Thread-safe.
class ArchivePeerCheck {
 public:
  explicit ArchivePeerCheck(const RelayConfig& config) : config_(config) {}

  // "" when the peer is the archive; otherwise why not (for the log).
  std::string Refusal(const std::string& peer_address, bool over_tls) const;

 private:
  const RelayConfig& config_;
};

// The canonical addresses `host` resolves to; empty when it does not
// resolve (logged by the caller through Refusal's reason).
std::vector<std::string> ResolveAddresses(const std::string& host);

}  // namespace hokan::relay
