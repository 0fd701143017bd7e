#pragma once
// IPv4/IPv6 addresses and prefixes as 128-bit integers, so that IPAM arithmetic (ranges,
// "next free", containment, overlap) is the same code for both families. Header-only:
// vrctl uses it to validate YAML before sending it.
#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <string>

namespace vrf {

using u128 = unsigned __int128;

struct IpAddr {
  u128 value = 0;
  bool v6 = false;
  bool operator==(const IpAddr&) const = default;
};

inline std::optional<IpAddr> parse_ip(const std::string& s) {
  IpAddr a;
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    for (int i = 0; i < 4; ++i) a.value = (a.value << 8) | buf[i];
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    a.v6 = true;
    for (int i = 0; i < 16; ++i) a.value = (a.value << 8) | buf[i];
    return a;
  }
  return std::nullopt;
}

inline std::string format_ip(const IpAddr& a) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  int n = a.v6 ? 16 : 4;
  u128 v = a.value;
  for (int i = n - 1; i >= 0; --i) { buf[i] = static_cast<unsigned char>(v & 0xff); v >>= 8; }
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, buf, out, sizeof out);
  return out;
}

struct Cidr {
  IpAddr net;
  int len = 0;
  int bits() const { return net.v6 ? 128 : 32; }
  u128 host_mask() const {
    int host = bits() - len;
    return host >= 128 ? ~u128(0) : ((u128(1) << host) - 1);
  }
  u128 first() const { return net.value; }
  u128 last() const { return net.value | host_mask(); }
  bool contains(const IpAddr& a) const { return a.v6 == net.v6 && a.value >= first() && a.value <= last(); }
  bool overlaps(const Cidr& o) const {
    return o.net.v6 == net.v6 && o.first() <= last() && first() <= o.last();
  }
  std::string str() const { return format_ip(net) + "/" + std::to_string(len); }
};

// Parses "10.0.1.0/24"; on failure returns nullopt and says why in *why.
inline std::optional<Cidr> parse_cidr(const std::string& s, std::string* why = nullptr) {
  auto fail = [&](const std::string& m) -> std::optional<Cidr> { if (why) *why = m; return std::nullopt; };
  auto slash = s.find('/');
  if (slash == std::string::npos) return fail("'" + s + "' is not a prefix (expected ADDRESS/LENGTH)");
  auto addr = parse_ip(s.substr(0, slash));
  if (!addr) return fail("'" + s.substr(0, slash) + "' is not an IPv4 or IPv6 address");
  std::string lenstr = s.substr(slash + 1);
  if (lenstr.empty() || lenstr.size() > 3 || lenstr.find_first_not_of("0123456789") != std::string::npos)
    return fail("prefix length '" + lenstr + "' is not a number");
  Cidr c{*addr, std::stoi(lenstr)};
  if (c.len > c.bits()) return fail("prefix length " + lenstr + " exceeds " + std::to_string(c.bits()));
  if (c.net.value & c.host_mask()) {
    Cidr fixed{{c.net.value & ~c.host_mask(), c.net.v6}, c.len};
    return fail("'" + s + "' has host bits set (did you mean " + fixed.str() + "?)");
  }
  return c;
}

}  // namespace vrf
