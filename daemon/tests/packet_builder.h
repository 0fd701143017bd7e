#pragma once
// Frames for BPF_PROG_TEST_RUN, built field by field (independently of the BPF code) so
// the tests can check the forwarder's output byte for byte.
#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace pkt {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline uint16_t get16(const Bytes& b, size_t off) { return static_cast<uint16_t>(b.at(off) << 8 | b.at(off + 1)); }
inline uint32_t get32(const Bytes& b, size_t off) { return static_cast<uint32_t>(get16(b, off)) << 16 | get16(b, off + 2); }

// The tests' own Internet checksum, kept apart from daemon/inet_checksum.h on purpose: it is
// the oracle the agent's and the forwarder's checksums are checked against.
inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  return sum;
}
inline uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline std::array<uint8_t, 4> v4(const char* s) {
  std::array<uint8_t, 4> a{};
  inet_pton(AF_INET, s, a.data());
  return a;
}
inline std::array<uint8_t, 16> v6(const char* s) {
  std::array<uint8_t, 16> a{};
  inet_pton(AF_INET6, s, a.data());
  return a;
}

inline Bytes eth(const Mac& dst, const Mac& src, uint16_t type) {
  Bytes b(dst.begin(), dst.end());
  b.insert(b.end(), src.begin(), src.end());
  put16(b, type);
  return b;
}

inline Bytes ipv4(const char* src, const char* dst, uint8_t proto, const Bytes& payload, uint8_t ttl = 64) {
  Bytes b = {0x45, 0};
  put16(b, static_cast<uint16_t>(20 + payload.size()));
  put32(b, 0);
  b.push_back(ttl);
  b.push_back(proto);
  put16(b, 0);
  auto s = v4(src), d = v4(dst);
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  uint16_t c = fold(sum16(b.data(), 20));
  b[10] = c >> 8;
  b[11] = c & 0xff;
  return b + payload;
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload.size()));
  put16(b, 0);
  return b + payload;
}

inline Bytes vxlan(uint32_t vni, const Bytes& inner, uint8_t flags = 0x08) {
  Bytes b = {flags, 0, 0, 0};
  put32(b, vni << 8);
  return b + inner;
}

inline Bytes mpls(uint32_t label, const Bytes& inner, bool bos = true) {
  Bytes b;
  put32(b, label << 12 | (bos ? 1u : 0u) << 8 | 64);
  return b + inner;
}

inline Bytes gre(uint16_t proto, const Bytes& payload, uint16_t flags = 0) {
  Bytes b;
  put16(b, flags);
  put16(b, proto);
  return b + payload;
}

inline Bytes arp_request(const Mac& sha, const char* spa, const char* tpa) {
  Bytes b = {0, 1, 8, 0, 6, 4, 0, 1};
  b.insert(b.end(), sha.begin(), sha.end());
  auto s = v4(spa), t = v4(tpa);
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), 6, 0);
  b.insert(b.end(), t.begin(), t.end());
  return b;
}

inline uint16_t icmp6_csum(const Bytes& ip6_and_payload) {
  // Pseudo-header: source, destination, upper-layer length, next header.
  const uint8_t* p = ip6_and_payload.data();
  size_t len = ip6_and_payload.size() - 40;
  uint32_t sum = sum16(p + 8, 32);
  sum += static_cast<uint32_t>(len);
  sum += 58;
  return fold(sum16(p + 40, len, sum));
}

inline Bytes ipv6(const char* src, const char* dst, uint8_t next, const Bytes& payload, uint8_t hops = 255) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(hops);
  auto s = v6(src), d = v6(dst);
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  return b + payload;
}

// Neighbour solicitation with a source link-layer address option, checksum filled in.
inline Bytes ipv6_ns(const char* src, const char* target, const Mac& sll) {
  auto t = v6(target);
  char buf[64];
  std::snprintf(buf, sizeof buf, "ff02::1:ff%02x:%02x%02x", t[13], t[14], t[15]);
  Bytes icmp = {135, 0, 0, 0, 0, 0, 0, 0};
  icmp.insert(icmp.end(), t.begin(), t.end());
  icmp.push_back(1);
  icmp.push_back(1);
  icmp.insert(icmp.end(), sll.begin(), sll.end());
  Bytes ip = ipv6(src, buf, 58, icmp);
  uint16_t c = icmp6_csum(ip);
  ip[42] = c >> 8;
  ip[43] = c & 0xff;
  return ip;
}

}  // namespace pkt
