// libFuzzer target for the agent's codecs (DHCP, DHCPv6, router solicitations, mirror
// datagrams): decode, answer and re-encode whatever comes in.
#include <cstddef>
#include <cstdint>

#include "dhcp6_codec.h"
#include "dhcp_codec.h"
#include "mirror_datagram.h"
#include "ra_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto d = vrfabric::decode_mirror_datagram(data, size)) {
    auto again = vrfabric::encode_mirror_datagram(d->analyzer, d->frame, d->len);
    if (again.size() != size) __builtin_trap();  // what decodes re-encodes to the same length
  }
  if (vrfabric::ra::is_router_solicitation(data, size)) {
    vrfabric::ra::Mac mac;
    std::array<uint8_t, 16> ip;
    vrfabric::ra::reply_destination(data, mac, ip);
    vrfabric::ra::advertisement(vrfabric::ra::Mac{0, 0, 0x5e, 0, 1, 0}, mac, ip);
  }
  vrfabric::dhcp6::answer(data, size, vrfabric::dhcp6::Lease{});
  auto msg = vrfabric::dhcp::decode(data, size);
  if (!msg) return 0;
  vrfabric::dhcp::Lease lease;
  lease.address = 0x0301010a;
  lease.gateway = 0x0101010a;
  if (auto reply = vrfabric::dhcp::answer(*msg, lease)) {
    auto bytes = vrfabric::dhcp::encode(*reply);
    if (!vrfabric::dhcp::decode(bytes.data(), bytes.size())) __builtin_trap();  // our own output must parse
  }
  return 0;
}
