#pragma once
// IPv4/IPv6 addresses and prefixes held as 128-bit integers, so containment and LPM are the
// same code for both families. Parsing uses inet_pton (no I/O).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vrfabric::policy {

using u128 = unsigned __int128;

enum class Family : uint8_t { V4, V6 };

inline int family_bits(Family f) { return f == Family::V4 ? 32 : 128; }
const char* family_name(Family f);

struct Address {
  Family family = Family::V4;
  u128 value = 0;  // v4 addresses use the low 32 bits
  auto operator<=>(const Address&) const = default;
};

struct Prefix {
  Address addr;  // host bits are always zero
  int len = 0;

  int bits() const { return family_bits(addr.family); }
  bool contains(const Address& a) const;
  bool contains(const Prefix& p) const { return p.len >= len && contains(p.addr); }
  std::string str() const;
  auto operator<=>(const Prefix&) const = default;
};

std::optional<Address> parse_address(std::string_view text);
std::string to_string(const Address& a);
// "10.1.0.0/16", "fd00::/64". A bare address is a host prefix. Returns nullopt on syntax
// errors; host bits set are reported separately by parse_prefix_strict.
std::optional<Prefix> parse_prefix(std::string_view text, bool* host_bits_set = nullptr);
Prefix host_prefix(const Address& a);

}  // namespace vrfabric::policy
