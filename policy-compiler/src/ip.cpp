#include "vrfabric/policy/ip.h"

#include <arpa/inet.h>

#include <charconv>

namespace vrfabric::policy {

const char* family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

static u128 host_mask(int bits, int len) {
  int host = bits - len;
  return host >= 128 ? ~u128(0) : ((u128(1) << host) - 1);
}

bool Prefix::contains(const Address& a) const {
  return a.family == addr.family && (a.value & ~host_mask(bits(), len)) == addr.value;
}

std::optional<Address> parse_address(std::string_view text) {
  std::string s(text);
  unsigned char buf[16];
  Address a;
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    for (int i = 0; i < 4; ++i) a.value = (a.value << 8) | buf[i];
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    a.family = Family::V6;
    for (int i = 0; i < 16; ++i) a.value = (a.value << 8) | buf[i];
    return a;
  }
  return std::nullopt;
}

std::string to_string(const Address& a) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  int n = a.family == Family::V4 ? 4 : 16;
  u128 v = a.value;
  for (int i = n - 1; i >= 0; --i) {
    buf[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
  inet_ntop(n == 4 ? AF_INET : AF_INET6, buf, out, sizeof out);
  return out;
}

std::string Prefix::str() const { return to_string(addr) + "/" + std::to_string(len); }

Prefix host_prefix(const Address& a) { return Prefix{a, family_bits(a.family)}; }

std::optional<Prefix> parse_prefix(std::string_view text, bool* host_bits_set) {
  auto slash = text.find('/');
  auto addr = parse_address(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int bits = family_bits(addr->family);
  int len = bits;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || len < 0 ||
        len > bits)
      return std::nullopt;
  }
  u128 mask = host_mask(bits, len);
  if (host_bits_set) *host_bits_set = (addr->value & mask) != 0;
  addr->value &= ~mask;
  return Prefix{*addr, len};
}

}  // namespace vrfabric::policy
