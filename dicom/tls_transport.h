#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dcmtk/dcmnet/assoc.h"

class DcmTLSTransportLayer;

namespace hokan::dicom {

// DICOM TLS (PS3.15 Annex B) for one side of an association, as the
// configuration names it. Files are PEM; the private key is not encrypted.
struct TlsSettings {
  std::string certificate_file;  // this node's certificate
  std::string private_key_file;  // its private key
  // A name accepted by IsTlsProfileName: "BCP195" (default), "BCP195-ND",
  // "BCP195-EX" (DCMTK's TSP_Profile_BCP195*) or "AES" (the retired DICOM
  // AES profile, for old peers).
  std::string profile = "BCP195";
  // Certificates (CA or self-signed) a peer's certificate must chain to.
  std::vector<std::string> trusted_certificate_files;
  // Acceptor only: what is asked of a client's certificate. kRequire: it
  // must present one that chains to a trusted certificate. kVerifyIfSent:
  // one is asked for and, if sent, must chain to a trusted certificate
  // (the serve function may require it later, e.g. per facility).
  // kIgnore: none is asked for.
  enum class PeerCertificate { kRequire, kVerifyIfSent, kIgnore };
  PeerCertificate peer_certificate = PeerCertificate::kRequire;
};

// True for the profile names TlsSettings::profile accepts.
bool IsTlsProfileName(std::string_view name);

// A DCMTK TLS transport layer for `role` (NET_ACCEPTOR or NET_REQUESTOR)
// set up from `settings`: profile and its cipher suites, certificate and
// key (checked to match), trusted certificates and peer verification (a
// requestor always verifies the acceptor's certificate). Throws
// hokan::Error(kConfiguration) naming the file or profile that failed.
std::unique_ptr<DcmTLSTransportLayer> MakeTlsTransportLayer(const TlsSettings& settings,
                                                            T_ASC_NetworkRole role);

// Frees a DcmTLSTransportLayer (for unique_ptr members in headers that do
// not include dcmtls).
struct TlsTransportLayerDeleter {
  void operator()(DcmTLSTransportLayer* layer) const;
};

}  // namespace hokan::dicom
