#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/tls_trust.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include <memory>

#include "archive/common/error.h"
#include "dicom/association_pool.h"

namespace hokan::dicom {

TlsTrustedCertificates::TlsTrustedCertificates(const std::vector<std::string>& pem_files)
    : store_(X509_STORE_new()) {
  if (!store_) throw Error(ErrorCode::kInternal, "cannot create an X509 certificate store");
  for (const std::string& file : pem_files) {
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store_, X509_LOOKUP_file());
    if (!lookup || X509_LOOKUP_load_file(lookup, file.c_str(), X509_FILETYPE_PEM) <= 0) {
      ERR_clear_error();
      X509_STORE_free(store_);
      throw Error(ErrorCode::kConfiguration,
                  fmt::format("DICOM TLS: cannot load trusted certificates from '{}' (a "
                              "readable PEM file with at least one certificate)",
                              file));
    }
  }
}

TlsTrustedCertificates::~TlsTrustedCertificates() { X509_STORE_free(store_); }

std::string TlsTrustedCertificates::Distrust(T_ASC_Association& association) const {
  if (!IsTlsAssociation(association)) return "the association does not use DICOM TLS";
  const unsigned long length = ASC_getPeerCertificateLength(&association);
  if (length == 0) return "the client presented no certificate";
  std::string der(length, '\0');
  ASC_getPeerCertificate(&association, der.data(), length);
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> certificate(
      d2i_X509(nullptr, &bytes, static_cast<long>(length)), &X509_free);
  if (!certificate) return "the client's certificate cannot be decoded";
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> context(X509_STORE_CTX_new(),
                                                                           &X509_STORE_CTX_free);
  if (!context || X509_STORE_CTX_init(context.get(), store_, certificate.get(), nullptr) != 1) {
    ERR_clear_error();
    return "the client's certificate cannot be checked (out of memory)";
  }
  if (X509_verify_cert(context.get()) == 1) return {};
  const int error = X509_STORE_CTX_get_error(context.get());
  ERR_clear_error();
  return fmt::format("the client's certificate is not trusted: {}",
                     X509_verify_cert_error_string(error));
}

}  // namespace hokan::dicom
