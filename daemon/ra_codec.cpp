#include "ra_codec.h"
#include "inet_checksum.h"

#include <algorithm>
#include <cstring>

namespace vrfabric::ra {

namespace {
constexpr uint8_t kIcmp6 = 58, kRs = 133, kRa = 134, kOptSourceLla = 1;
constexpr size_t kEth = 14, kIp6 = 40;
}  // namespace

std::array<uint8_t, 16> link_local(const Mac& mac) {
  return {0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(mac[0] ^ 2), mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
}

bool is_router_solicitation(const uint8_t* f, size_t len) {
  if (len < kEth + kIp6 + 8) return false;
  return f[12] == 0x86 && f[13] == 0xdd && (f[14] >> 4) == 6 && f[14 + 6] == kIcmp6 && f[14 + 7] == 255 &&
         f[kEth + kIp6] == kRs && f[kEth + kIp6 + 1] == 0;
}

void reply_destination(const uint8_t* f, Mac& mac, std::array<uint8_t, 16>& ip) {
  const uint8_t* src = f + kEth + 8;
  if (std::all_of(src, src + 16, [](uint8_t b) { return b == 0; })) {
    mac = {0x33, 0x33, 0, 0, 0, 1};
    ip = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return;
  }
  std::copy(f + 6, f + 12, mac.begin());
  std::copy(src, src + 16, ip.begin());
}

std::vector<uint8_t> advertisement(const Mac& router_mac, const Mac& dst_mac, const std::array<uint8_t, 16>& dst_ip,
                                   uint16_t lifetime) {
  constexpr size_t kRaLen = 16 + 8;  // the advertisement and one source link-layer address option
  std::vector<uint8_t> f(kEth + kIp6 + kRaLen, 0);
  std::copy(dst_mac.begin(), dst_mac.end(), f.begin());
  std::copy(router_mac.begin(), router_mac.end(), f.begin() + 6);
  f[12] = 0x86, f[13] = 0xdd;
  uint8_t* ip = f.data() + kEth;
  ip[0] = 0x60;
  ip[5] = kRaLen;
  ip[6] = kIcmp6;
  ip[7] = 255;  // RFC 4861: receivers drop ND messages that crossed a router
  auto src = link_local(router_mac);
  std::copy(src.begin(), src.end(), ip + 8);
  std::copy(dst_ip.begin(), dst_ip.end(), ip + 24);
  uint8_t* ra = ip + kIp6;
  ra[0] = kRa;
  ra[4] = 64;    // current hop limit for the workload's own packets
  ra[5] = 0xc0;  // managed (addresses over DHCPv6) and other configuration
  ra[6] = static_cast<uint8_t>(lifetime >> 8), ra[7] = static_cast<uint8_t>(lifetime);
  ra[16] = kOptSourceLla;
  ra[17] = 1;  // in units of 8 bytes
  std::copy(router_mac.begin(), router_mac.end(), ra + 18);
  uint16_t c = fold(sum16(ra, kRaLen, sum16(ip + 8, 32) + kRaLen + kIcmp6));
  ra[2] = static_cast<uint8_t>(c >> 8), ra[3] = static_cast<uint8_t>(c);
  return f;
}

}  // namespace vrfabric::ra
