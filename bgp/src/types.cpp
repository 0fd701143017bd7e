#include "vrfabric/bgp/types.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace vrfabric::bgp {

namespace {

struct FamilyInfo {
  Family family;
  uint16_t afi;
  uint8_t safi;
  std::string_view name;
};

constexpr FamilyInfo kFamilies[] = {
    {Family::Ipv4Unicast, afi::kIpv4, safi::kUnicast, "ipv4"},
    {Family::Ipv6Unicast, afi::kIpv6, safi::kUnicast, "ipv6"},
    {Family::Evpn, afi::kL2vpn, safi::kEvpn, "evpn"},
    {Family::Vpnv4, afi::kIpv4, safi::kMplsVpn, "vpnv4"},
    {Family::Vpnv6, afi::kIpv6, safi::kMplsVpn, "vpnv6"},
    {Family::RtConstraint, afi::kIpv4, safi::kRtConstraint, "rtc"},
};

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits "left:right" at the last colon (the left side may itself be an IPv4 address).
bool splitColon(std::string_view text, std::string_view& left, std::string_view& right) {
  auto pos = text.rfind(':');
  if (pos == std::string_view::npos) return false;
  left = text.substr(0, pos);
  right = text.substr(pos + 1);
  return true;
}

// Parses "hh:hh:..." with exactly N octets.
template <size_t N>
bool parseHexOctets(std::string_view text, std::array<uint8_t, N>& out) {
  size_t i = 0;
  for (size_t n = 0; n < N; ++n) {
    if (n > 0) {
      if (i >= text.size() || (text[i] != ':' && text[i] != '-')) return false;
      ++i;
    }
    if (i + 2 > text.size()) return false;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + i + 2, v, 16);
    if (ec != std::errc() || p != text.data() + i + 2) return false;
    out[n] = uint8_t(v);
    i += 2;
  }
  return i == text.size();
}

template <size_t N>
std::string octetsToString(const std::array<uint8_t, N>& b) {
  std::string s;
  s.reserve(N * 3);
  char buf[4];
  for (size_t i = 0; i < N; ++i) {
    std::snprintf(buf, sizeof buf, i ? ":%02x" : "%02x", b[i]);
    s += buf;
  }
  return s;
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace

uint16_t afiOf(Family f) { return kFamilies[int(f)].afi; }
uint8_t safiOf(Family f) { return kFamilies[int(f)].safi; }
std::string_view familyName(Family f) { return kFamilies[int(f)].name; }

std::optional<Family> familyFromAfiSafi(uint16_t afi, uint8_t safi) {
  for (const auto& fi : kFamilies)
    if (fi.afi == afi && fi.safi == safi) return fi.family;
  return std::nullopt;
}

std::optional<Family> parseFamily(std::string_view name) {
  for (const auto& fi : kFamilies)
    if (fi.name == name) return fi.family;
  if (name == "l2vpn-evpn") return Family::Evpn;
  if (name == "l3vpn-ipv4-unicast") return Family::Vpnv4;
  if (name == "l3vpn-ipv6-unicast") return Family::Vpnv6;
  if (name == "ipv4-unicast") return Family::Ipv4Unicast;
  if (name == "ipv6-unicast") return Family::Ipv6Unicast;
  if (name == "rtc" || name == "rt-constraint") return Family::RtConstraint;
  return std::nullopt;
}

// ---- IpAddress / Prefix ----

IpAddress IpAddress::v4(uint32_t hostOrder) {
  IpAddress a;
  a.bytes[0] = uint8_t(hostOrder >> 24);
  a.bytes[1] = uint8_t(hostOrder >> 16);
  a.bytes[2] = uint8_t(hostOrder >> 8);
  a.bytes[3] = uint8_t(hostOrder);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

uint32_t IpAddress::v4Value() const { return be32(bytes.data()); }

bool IpAddress::isZero() const {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = IpAddress::parse(text.substr(0, slash));
  unsigned len = 0;
  if (!addr || !parseNumber(text.substr(slash + 1), len) || len > addr->size() * 8) return std::nullopt;
  Prefix p{*addr, uint8_t(len)};
  p.normalize();
  return p;
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(length); }

void Prefix::normalize() {
  for (size_t i = 0; i < 16; ++i) {
    int bitsHere = int(length) - int(i * 8);
    if (bitsHere >= 8) continue;
    addr.bytes[i] &= bitsHere <= 0 ? 0 : uint8_t(0xff << (8 - bitsHere));
  }
}

// ---- MAC / ESI / RD ----

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  MacAddress m;
  if (!parseHexOctets(text, m.bytes)) return std::nullopt;
  return m;
}
std::string MacAddress::str() const { return octetsToString(bytes); }

std::optional<Esi> Esi::parse(std::string_view text) {
  Esi e;
  if (text == "0" || text.empty()) return e;
  if (!parseHexOctets(text, e.bytes)) return std::nullopt;
  return e;
}
bool Esi::isZero() const {
  for (auto b : bytes)
    if (b) return false;
  return true;
}
std::string Esi::str() const { return octetsToString(bytes); }

std::optional<RouteDistinguisher> RouteDistinguisher::parse(std::string_view text) {
  std::string_view left, right;
  if (!splitColon(text, left, right)) return std::nullopt;
  RouteDistinguisher rd;
  auto& b = rd.bytes;
  if (auto ip = IpAddress::parse(left); ip && !ip->v6) {
    uint16_t v;
    if (!parseNumber(right, v)) return std::nullopt;
    b[1] = 1;
    std::memcpy(&b[2], ip->bytes.data(), 4);
    b[6] = uint8_t(v >> 8);
    b[7] = uint8_t(v);
    return rd;
  }
  uint32_t as;
  if (!parseNumber(left, as)) return std::nullopt;
  if (as <= 0xffff) {
    uint32_t v;
    if (!parseNumber(right, v)) return std::nullopt;
    b[1] = 0;
    b[2] = uint8_t(as >> 8);
    b[3] = uint8_t(as);
    for (int i = 0; i < 4; ++i) b[4 + i] = uint8_t(v >> (24 - 8 * i));
    return rd;
  }
  uint16_t v;
  if (!parseNumber(right, v)) return std::nullopt;
  b[1] = 2;
  for (int i = 0; i < 4; ++i) b[2 + i] = uint8_t(as >> (24 - 8 * i));
  b[6] = uint8_t(v >> 8);
  b[7] = uint8_t(v);
  return rd;
}

std::string RouteDistinguisher::str() const {
  const uint8_t* p = bytes.data();
  switch (be16(p)) {
    case 0: return std::to_string(be16(p + 2)) + ":" + std::to_string(be32(p + 4));
    case 1: {
      IpAddress a;
      std::memcpy(a.bytes.data(), p + 2, 4);
      return a.str() + ":" + std::to_string(be16(p + 6));
    }
    case 2: return std::to_string(be32(p + 2)) + ":" + std::to_string(be16(p + 6));
    default: return "rd-" + hexString(p, 8);
  }
}

// ---- tunnel types ----

std::optional<TunnelType> parseTunnelType(std::string_view name) {
  if (name == "vxlan") return TunnelType::Vxlan;
  if (name == "mpls-gre" || name == "mplsogre") return TunnelType::MplsGre;
  if (name == "mpls-udp" || name == "mplsoudp") return TunnelType::MplsUdp;
  return std::nullopt;
}

std::string_view tunnelTypeName(TunnelType t) {
  switch (t) {
    case TunnelType::Vxlan: return "vxlan";
    case TunnelType::MplsGre: return "mpls-gre";
    case TunnelType::MplsUdp: return "mpls-udp";
  }
  return "unknown";
}

// ---- extended communities ----

ExtCommunity ExtCommunity::routeTargetAs2(uint16_t as, uint32_t value) {
  return {uint64_t(0x0002) << 48 | uint64_t(as) << 32 | value};
}
ExtCommunity ExtCommunity::routeTargetIp(uint32_t ipv4, uint16_t value) {
  return {uint64_t(0x0102) << 48 | uint64_t(ipv4) << 16 | value};
}
ExtCommunity ExtCommunity::routeTargetAs4(uint32_t as, uint16_t value) {
  return {uint64_t(0x0202) << 48 | uint64_t(as) << 16 | value};
}

std::optional<ExtCommunity> ExtCommunity::parseRouteTarget(std::string_view text) {
  if (text.substr(0, 3) == "rt:") text.remove_prefix(3);
  // The RD parser accepts the same three textual forms; reuse it and re-type.
  auto rd = RouteDistinguisher::parse(text);
  if (!rd) return std::nullopt;
  uint64_t v = 0;
  for (auto b : rd->bytes) v = v << 8 | b;
  // RD type (first two octets) becomes the RT type with subtype 0x02.
  uint64_t type = v >> 48;
  return ExtCommunity{(type << 56) | (uint64_t(0x02) << 48) | (v & 0xffffffffffffULL)};
}

ExtCommunity ExtCommunity::encapsulation(TunnelType t) {
  return {uint64_t(0x030c) << 48 | uint16_t(t)};
}
ExtCommunity ExtCommunity::macMobility(uint32_t sequence, bool sticky) {
  return {uint64_t(0x0600) << 48 | uint64_t(sticky ? 1 : 0) << 40 | sequence};
}
ExtCommunity ExtCommunity::routerMac(const MacAddress& mac) {
  uint64_t v = uint64_t(0x0603) << 48;
  for (int i = 0; i < 6; ++i) v |= uint64_t(mac.bytes[i]) << (40 - 8 * i);
  return {v};
}
ExtCommunity ExtCommunity::defaultGateway() { return {uint64_t(0x030d) << 48}; }

bool ExtCommunity::isRouteTarget() const {
  return subtype() == 0x02 && (type() == 0x00 || type() == 0x01 || type() == 0x02);
}

MacAddress ExtCommunity::routerMacValue() const {
  MacAddress m;
  for (int i = 0; i < 6; ++i) m.bytes[i] = uint8_t(raw >> (40 - 8 * i));
  return m;
}

std::string ExtCommunity::str() const {
  if (isRouteTarget()) {
    RouteDistinguisher rd;
    uint64_t v = (uint64_t(type()) << 48) | (raw & 0xffffffffffffULL);
    for (int i = 0; i < 8; ++i) rd.bytes[i] = uint8_t(v >> (56 - 8 * i));
    return "rt:" + rd.str();
  }
  if (isEncapsulation()) return "encap:" + std::string(tunnelTypeName(tunnelType()));
  if (isMacMobility())
    return "mac-mobility:" + std::to_string(mobilitySequence()) + (mobilitySticky() ? ":sticky" : "");
  if (isRouterMac()) return "router-mac:" + routerMacValue().str();
  if (isDefaultGateway()) return "default-gw";
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = uint8_t(raw >> (56 - 8 * i));
  return "ext:" + hexString(b, 8);
}

std::string hexString(const uint8_t* data, size_t len) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    s += digits[data[i] >> 4];
    s += digits[data[i] & 15];
  }
  return s;
}

}  // namespace vrfabric::bgp
