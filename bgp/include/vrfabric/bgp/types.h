// Basic value types shared by every BGP module: addresses, prefixes, MACs,
// route distinguishers, ESIs, extended communities and address families.
// Everything here is a plain value with parse()/str() so configs, JSON output
// and tests all use one textual form.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrfabric::bgp {

// AFI/SAFI pairs this speaker understands. The enum is dense so it can index arrays.
enum class Family : uint8_t { Ipv4Unicast, Ipv6Unicast, Evpn, Vpnv4, Vpnv6, RtConstraint };
inline constexpr int kFamilyCount = 6;
inline constexpr std::array<Family, kFamilyCount> kAllFamilies = {
    Family::Ipv4Unicast, Family::Ipv6Unicast, Family::Evpn,
    Family::Vpnv4,       Family::Vpnv6,       Family::RtConstraint};

namespace afi {
inline constexpr uint16_t kIpv4 = 1, kIpv6 = 2, kL2vpn = 25;
}
namespace safi {
inline constexpr uint8_t kUnicast = 1, kEvpn = 70, kMplsVpn = 128, kRtConstraint = 132;
}

uint16_t afiOf(Family f);
uint8_t safiOf(Family f);
std::optional<Family> familyFromAfiSafi(uint16_t afi, uint8_t safi);
// Names match GoBGP's CLI spelling where one exists ("evpn", "vpnv4", "rtc", "ipv4"...).
std::string_view familyName(Family f);
std::optional<Family> parseFamily(std::string_view name);

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes, the rest stay zero

  static IpAddress v4(uint32_t hostOrder);
  static std::optional<IpAddress> parse(std::string_view text);
  uint32_t v4Value() const;  // host order; only meaningful when !v6
  size_t size() const { return v6 ? 16 : 4; }
  bool isZero() const;
  std::string str() const;
  auto operator<=>(const IpAddress&) const = default;
};

struct Prefix {
  IpAddress addr;
  uint8_t length = 0;

  static std::optional<Prefix> parse(std::string_view text);  // "10.0.0.0/24", "2001:db8::/32"
  std::string str() const;
  // Zeroes host bits: a prefix is compared and hashed in canonical form.
  void normalize();
  auto operator<=>(const Prefix&) const = default;
};

struct MacAddress {
  std::array<uint8_t, 6> bytes{};
  static std::optional<MacAddress> parse(std::string_view text);  // "aa:bb:cc:dd:ee:ff"
  std::string str() const;
  auto operator<=>(const MacAddress&) const = default;
};

// Ethernet Segment Identifier, RFC 7432 section 5. All zero = single-homed.
struct Esi {
  std::array<uint8_t, 10> bytes{};
  static std::optional<Esi> parse(std::string_view text);  // "00:11:..:99" (10 octets) or "0"
  bool isZero() const;
  std::string str() const;
  auto operator<=>(const Esi&) const = default;
};

// RFC 4364 section 4.2: type 0 (2-byte AS:4-byte), 1 (IPv4:2-byte), 2 (4-byte AS:2-byte).
struct RouteDistinguisher {
  std::array<uint8_t, 8> bytes{};
  static std::optional<RouteDistinguisher> parse(std::string_view text);
  std::string str() const;
  auto operator<=>(const RouteDistinguisher&) const = default;
};

// RFC 9012 section 3: tunnel types carried in the encapsulation extended community.
enum class TunnelType : uint16_t { Vxlan = 8, MplsGre = 11, MplsUdp = 13 };
std::optional<TunnelType> parseTunnelType(std::string_view name);  // "vxlan","mpls-gre","mpls-udp"
std::string_view tunnelTypeName(TunnelType t);

// An 8-octet extended community (RFC 4360) kept as its wire value so unknown
// kinds pass through untouched; typed constructors and accessors cover the ones
// EVPN and L3VPN need.
struct ExtCommunity {
  uint64_t raw = 0;

  // Route targets. parseRouteTarget accepts "65000:100", "4200000000:100", "192.0.2.1:7".
  static ExtCommunity routeTargetAs2(uint16_t as, uint32_t value);
  static ExtCommunity routeTargetIp(uint32_t ipv4, uint16_t value);
  static ExtCommunity routeTargetAs4(uint32_t as, uint16_t value);
  static std::optional<ExtCommunity> parseRouteTarget(std::string_view text);
  // RFC 9012 encapsulation, RFC 7432 7.7 MAC mobility, 9135 router's MAC, 7432 7.8 default gateway.
  static ExtCommunity encapsulation(TunnelType t);
  static ExtCommunity macMobility(uint32_t sequence, bool sticky);
  static ExtCommunity routerMac(const MacAddress& mac);
  static ExtCommunity defaultGateway();

  uint8_t type() const { return uint8_t(raw >> 56); }
  uint8_t subtype() const { return uint8_t(raw >> 48); }
  bool isRouteTarget() const;
  bool isEncapsulation() const { return type() == 0x03 && subtype() == 0x0c; }
  bool isMacMobility() const { return type() == 0x06 && subtype() == 0x00; }
  bool isRouterMac() const { return type() == 0x06 && subtype() == 0x03; }
  bool isDefaultGateway() const { return type() == 0x03 && subtype() == 0x0d; }
  TunnelType tunnelType() const { return TunnelType(uint16_t(raw)); }
  uint32_t mobilitySequence() const { return uint32_t(raw); }
  bool mobilitySticky() const { return (raw >> 40) & 1; }
  MacAddress routerMacValue() const;
  // "rt:65000:100", "encap:vxlan", "mac-mobility:5", "router-mac:..", "default-gw", else hex.
  std::string str() const;
  auto operator<=>(const ExtCommunity&) const = default;
};

std::string hexString(const uint8_t* data, size_t len);

}  // namespace vrfabric::bgp
