#include "dcmtk/config/osconfig.h"  // must come first

#include "scp/tls_admission.h"

#include <fmt/format.h>

#include "dicom/association_pool.h"

namespace hokan::scp {

dicom::TlsSettings ArchiveTlsSettings(const archive::ArchiveConfig& config) {
  dicom::TlsSettings tls;
  tls.certificate_file = config.tls_certificate;
  tls.private_key_file = config.tls_private_key;
  tls.profile = config.tls_profile;
  tls.trusted_certificate_files = config.tls_trusted_certificates;
  return tls;
}

std::optional<dicom::TlsSettings> OutgoingTls(const archive::ArchiveConfig& config,
                                              const std::string& ae_title,
                                              const std::string& host, int port) {
  for (const archive::FacilityConfig& facility : config.facilities) {
    for (const archive::DestinationConfig& destination : facility.move_destinations) {
      if (destination.tls && destination.ae_title == ae_title && destination.host == host &&
          destination.port == port) {
        return ArchiveTlsSettings(config);
      }
    }
  }
  return std::nullopt;
}

FacilityTlsPolicy::FacilityTlsPolicy(const archive::ArchiveConfig& config) {
  for (const archive::FacilityConfig& facility : config.facilities) {
    if (!facility.tls_required && facility.trusted_certificates.empty()) continue;
    Rule& rule = rules_[facility.name];
    rule.tls_required = true;
    if (!facility.trusted_certificates.empty()) {
      rule.trusted =
          std::make_unique<dicom::TlsTrustedCertificates>(facility.trusted_certificates);
    }
  }
}

std::string FacilityTlsPolicy::Refusal(const std::string& facility_name,
                                       T_ASC_Association& association) const {
  const auto found = rules_.find(facility_name);
  if (found == rules_.end()) return {};
  const Rule& rule = found->second;
  if (rule.tls_required && !dicom::IsTlsAssociation(association)) {
    return fmt::format("facility '{}' requires DICOM TLS (tls_required); call the TLS port",
                       facility_name);
  }
  if (!rule.trusted) return {};
  const std::string distrust = rule.trusted->Distrust(association);
  if (distrust.empty()) return {};
  return fmt::format("facility '{}' trusts other client certificates: {}", facility_name,
                     distrust);
}

}  // namespace hokan::scp
