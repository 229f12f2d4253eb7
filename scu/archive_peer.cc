#include "scu/archive_peer.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace hokan::relay {
namespace {

std::string Join(const std::vector<std::string>& values) {
  std::string joined;
  for (const auto& value : values) joined += (joined.empty() ? "" : ", ") + value;
  return joined.empty() ? "none" : joined;
}

}  // namespace

std::string CanonicalIpAddress(const std::string& text) {
  char buffer[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return ::inet_ntop(AF_INET, &v4, buffer, sizeof buffer) ? buffer : "";
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return "";
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    return ::inet_ntop(AF_INET, &v4, buffer, sizeof buffer) ? buffer : "";
  }
  return ::inet_ntop(AF_INET6, &v6, buffer, sizeof buffer) ? buffer : "";
}

std::vector<std::string> ResolveAddresses(const std::string& host) {
  std::vector<std::string> addresses;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    char buffer[INET6_ADDRSTRLEN] = {};
    const void* address = nullptr;
    if (entry->ai_family == AF_INET) {
      address = &reinterpret_cast<const sockaddr_in*>(entry->ai_addr)->sin_addr;
    } else if (entry->ai_family == AF_INET6) {
      address = &reinterpret_cast<const sockaddr_in6*>(entry->ai_addr)->sin6_addr;
    }
    if (address && ::inet_ntop(entry->ai_family, address, buffer, sizeof buffer)) {
      const std::string canonical = CanonicalIpAddress(buffer);
      if (std::find(addresses.begin(), addresses.end(), canonical) == addresses.end()) {
        addresses.push_back(canonical);
      }
    }
  }
  ::freeaddrinfo(found);
  return addresses;
}

std::string ArchivePeerCheck::Refusal(const std::string& peer_address, bool over_tls) const {
  if (config_.archive_tls && !over_tls) {
    return "with [archive] tls = true the archive's reports are taken only over the TLS port "
           "(relay.tls_port), from a trusted certificate";
  }
  const std::string peer = CanonicalIpAddress(peer_address);
  if (!peer.empty()) {
    for (const auto& listed : config_.archive_report_addresses) {
      if (CanonicalIpAddress(listed) == peer) return "";
    }
  }
  const std::vector<std::string> resolved = ResolveAddresses(config_.archive_host);
  if (!peer.empty() && std::find(resolved.begin(), resolved.end(), peer) != resolved.end()) {
    return "";
  }
  return fmt::format("peer address {} is not the archive's (host {} resolves to {}; "
                     "report_addresses: {})",
                     peer_address, config_.archive_host, Join(resolved),
                     Join(config_.archive_report_addresses));
}

}  // namespace hokan::relay
