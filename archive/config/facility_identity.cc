#include "archive/config/facility_identity.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <fmt/format.h>

#include <array>
#include <map>

#include "archive/common/error.h"

namespace hokan::archive {
namespace {

// An address or CIDR network as bytes and a prefix length.
struct Network {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};
  int prefix = 0;
};

Network ParseNetwork(const std::string& text) {
  Network network;
  const auto slash = text.find('/');
  const std::string address_text = text.substr(0, slash);
  const auto address = boost::asio::ip::make_address(address_text);
  network.v6 = address.is_v6();
  if (network.v6) {
    network.bytes = address.to_v6().to_bytes();
  } else {
    const auto v4 = address.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), network.bytes.begin());
  }
  network.prefix = slash == std::string::npos ? (network.v6 ? 128 : 32)
                                              : std::stoi(text.substr(slash + 1));
  return network;
}

bool NetworksOverlap(const Network& first, const Network& second) {
  if (first.v6 != second.v6) return false;
  const int bits = std::min(first.prefix, second.prefix);
  for (int bit = 0; bit < bits; ++bit) {
    const int mask = 0x80 >> (bit % 8);
    if ((first.bytes[bit / 8] & mask) != (second.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

std::string Describe(const std::vector<std::string>& peers) {
  if (peers.empty()) return "any address";
  std::string text;
  for (const auto& peer : peers) text += (text.empty() ? "" : ", ") + peer;
  return text;
}

[[noreturn]] void Fail(std::string_view source, const std::string& what) {
  throw Error(ErrorCode::kConfiguration, fmt::format("{}: {}", source, what));
}

void CheckArchiveAeTitles(const ArchiveConfig& config, std::string_view source) {
  std::map<std::string, std::string> owner;  // archive AE title → facility
  for (const auto& facility : config.facilities) {
    for (const auto& title : facility.archive_ae_titles) {
      if (title == config.ae_title) {
        Fail(source, fmt::format("key 'facility.{}.archive_ae_titles': '{}' is the shared "
                                 "[archive] ae_title; a facility's own archive AE title must "
                                 "differ from it",
                                 facility.name, title));
      }
      const auto [it, inserted] = owner.emplace(title, facility.name);
      if (!inserted && it->second != facility.name) {
        Fail(source, fmt::format("archive AE title '{}' is listed by facility '{}' and by "
                                 "facility '{}' (archive_ae_titles): it must name one facility",
                                 title, it->second, facility.name));
      }
    }
  }
}

}  // namespace

PeerCheck CheckPeer(const std::string& text) {
  boost::system::error_code error;
  if (text.find('/') == std::string::npos) {
    boost::asio::ip::make_address(text, error);
    return error ? PeerCheck::kMalformed : PeerCheck::kValid;
  }
  const auto v4 = boost::asio::ip::make_network_v4(text, error);
  if (!error) return v4 == v4.canonical() ? PeerCheck::kValid : PeerCheck::kHostBitsSet;
  error.clear();
  const auto v6 = boost::asio::ip::make_network_v6(text, error);
  if (error) return PeerCheck::kMalformed;
  return v6 == v6.canonical() ? PeerCheck::kValid : PeerCheck::kHostBitsSet;
}

bool PeerListsOverlap(const std::vector<std::string>& first,
                      const std::vector<std::string>& second) {
  if (first.empty() || second.empty()) return true;
  for (const auto& a : first) {
    for (const auto& b : second) {
      if (NetworksOverlap(ParseNetwork(a), ParseNetwork(b))) return true;
    }
  }
  return false;
}

bool ServedOnSharedAeTitle(const FacilityConfig& facility) {
  return facility.archive_ae_titles.empty();
}

void CheckFacilityIdentity(const ArchiveConfig& config, std::string_view source) {
  CheckArchiveAeTitles(config, source);
  // calling AE title → the shared-title facilities that admit it.
  std::map<std::string, std::vector<const FacilityConfig*>> callers;
  for (const auto& facility : config.facilities) {
    if (!ServedOnSharedAeTitle(facility)) continue;
    for (const auto* titles : {&facility.store_ae_titles, &facility.query_ae_titles}) {
      for (const auto& ae : *titles) callers[ae].push_back(&facility);
    }
  }
  for (const auto& [ae, facilities] : callers) {
    for (std::size_t i = 0; i < facilities.size(); ++i) {
      for (std::size_t j = i + 1; j < facilities.size(); ++j) {
        const FacilityConfig& first = *facilities[i];
        const FacilityConfig& second = *facilities[j];
        if (&first == &second) continue;  // one facility listing it twice: refused earlier
        if (!PeerListsOverlap(first.allowed_peers, second.allowed_peers)) continue;
        Fail(source,
             fmt::format("calling AE title '{}' on the shared archive AE title '{}' names both "
                         "facility '{}' (allowed_peers: {}) and facility '{}' (allowed_peers: "
                         "{}): give one of them its own archive_ae_titles or make their "
                         "allowed_peers disjoint",
                         ae, config.ae_title, first.name, Describe(first.allowed_peers),
                         second.name, Describe(second.allowed_peers)));
      }
    }
  }
}

}  // namespace hokan::archive
