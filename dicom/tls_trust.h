#pragma once

#include "dcmtk/config/osconfig.h"  // must come first

#include <string>
#include <vector>

#include "dcmtk/dcmnet/assoc.h"

struct x509_store_st;  // OpenSSL's X509_STORE

namespace hokan::dicom {

// Certificates (CAs, or self-signed client certificates) that the peer of
// a DICOM TLS association can be checked against after the handshake, e.g.
// one facility's trusted certificates. Thread-safe once constructed.
class TlsTrustedCertificates {
 public:
  // Loads every certificate of the PEM files. Throws
  // hokan::Error(kConfiguration) naming a file that cannot be read or holds
  // no certificate.
  explicit TlsTrustedCertificates(const std::vector<std::string>& pem_files);
  ~TlsTrustedCertificates();
  TlsTrustedCertificates(const TlsTrustedCertificates&) = delete;
  TlsTrustedCertificates& operator=(const TlsTrustedCertificates&) = delete;

  // Empty when the association runs over TLS and its peer's certificate
  // chains to one of these certificates (and is valid now); else why not,
  // e.g. "no client certificate" or OpenSSL's verification error.
  std::string Distrust(T_ASC_Association& association) const;

 private:
  x509_store_st* store_ = nullptr;
};

}  // namespace hokan::dicom
