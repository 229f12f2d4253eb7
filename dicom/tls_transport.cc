#include "dcmtk/config/osconfig.h"  // must come first

#include "dicom/tls_transport.h"

#include "dcmtk/dcmtls/tlslayer.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

#include "archive/common/error.h"

namespace hokan::dicom {
namespace {

const std::map<std::string_view, DcmTLSSecurityProfile>& Profiles() {
  static const std::map<std::string_view, DcmTLSSecurityProfile> profiles = {
      {"BCP195", TSP_Profile_BCP195},
      {"BCP195-ND", TSP_Profile_BCP195_ND},
      {"BCP195-EX", TSP_Profile_BCP195_Extended},
      {"AES", TSP_Profile_AES}};
  return profiles;
}

[[noreturn]] void Fail(const std::string& what, const OFCondition& condition) {
  throw Error(ErrorCode::kConfiguration,
              fmt::format("DICOM TLS: {}: {}", what, condition.text()));
}

}  // namespace

bool IsTlsProfileName(std::string_view name) { return Profiles().count(name) > 0; }

std::unique_ptr<DcmTLSTransportLayer> MakeTlsTransportLayer(const TlsSettings& settings,
                                                            T_ASC_NetworkRole role) {
  static std::once_flag openssl_initialized;
  std::call_once(openssl_initialized, [] { DcmTLSTransportLayer::initializeOpenSSL(); });

  const auto profile = Profiles().find(settings.profile);
  if (profile == Profiles().end()) {
    throw Error(ErrorCode::kConfiguration,
                fmt::format("DICOM TLS: unknown profile '{}' (BCP195, BCP195-ND, BCP195-EX or AES)",
                            settings.profile));
  }
  auto layer = std::make_unique<DcmTLSTransportLayer>(role, nullptr, OFFalse);
  for (const std::string& trusted : settings.trusted_certificate_files) {
    const OFCondition added = layer->addTrustedCertificateFile(trusted.c_str(), DCF_Filetype_PEM);
    if (added.bad()) Fail(fmt::format("cannot load trusted certificate '{}'", trusted), added);
  }
  OFCondition result = layer->setTLSProfile(profile->second);
  if (result.bad()) Fail(fmt::format("cannot use profile '{}'", settings.profile), result);
  result = layer->activateCipherSuites();
  if (result.bad()) Fail(fmt::format("cannot use profile '{}'", settings.profile), result);
  if (!settings.private_key_file.empty() || role == NET_ACCEPTOR) {
    result = layer->setPrivateKeyFile(settings.private_key_file.c_str(), DCF_Filetype_PEM);
    if (result.bad()) {
      Fail(fmt::format("cannot load private key '{}'", settings.private_key_file), result);
    }
    result = layer->setCertificateFile(settings.certificate_file.c_str(), DCF_Filetype_PEM);
    if (result.bad()) {
      Fail(fmt::format("cannot load certificate '{}'", settings.certificate_file), result);
    }
    if (!layer->checkPrivateKeyMatchesCertificate()) {
      throw Error(ErrorCode::kConfiguration,
                  fmt::format("DICOM TLS: private key '{}' does not match certificate '{}'",
                              settings.private_key_file, settings.certificate_file));
    }
  }
  DcmCertificateVerification verification = DCV_requireCertificate;
  if (role == NET_ACCEPTOR &&
      settings.peer_certificate == TlsSettings::PeerCertificate::kVerifyIfSent) {
    verification = DCV_checkCertificate;
  } else if (role == NET_ACCEPTOR &&
             settings.peer_certificate == TlsSettings::PeerCertificate::kIgnore) {
    verification = DCV_ignoreCertificate;
  }
  layer->setCertificateVerification(verification);
  return layer;
}

void TlsTransportLayerDeleter::operator()(DcmTLSTransportLayer* layer) const { delete layer; }

}  // namespace hokan::dicom
