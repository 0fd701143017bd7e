#pragma once
// IPv6 router advertisements from the distributed gateway (RFC 4861 section 4.2), as pure
// functions: the agent answers a workload's router solicitation with one, and repeats them
// unsolicited, so IPv6 workloads get their default route (addresses come from DHCPv6: the
// managed and other-config flags are set).
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vrfabric::ra {

using Mac = std::array<uint8_t, 6>;  // the same type as vrfabric::Mac, without the BPF headers

inline constexpr uint16_t kRouterLifetime = 1800;  // seconds (RFC 4861 default: 3 x 600)

// fe80:: + modified EUI-64 of the MAC (RFC 4291 appendix A).
std::array<uint8_t, 16> link_local(const Mac& mac);

// An Ethernet/IPv6/ICMPv6 router solicitation as RFC 4861 6.1.1 accepts it (hop limit 255,
// code 0); no IPv6 extension headers.
bool is_router_solicitation(const uint8_t* frame, size_t len);

// The advertisement, from the gateway's link-local address and MAC to dst_mac/dst_ip (the
// soliciting workload, or 33:33:00:00:00:01 / ff02::1), with a source link-layer option.
std::vector<uint8_t> advertisement(const Mac& router_mac, const Mac& dst_mac, const std::array<uint8_t, 16>& dst_ip,
                                   uint16_t lifetime = kRouterLifetime);

// Where an answer to the solicitation in `frame` goes: to its sender, or to all nodes when
// it came from the unspecified address.
void reply_destination(const uint8_t* frame, Mac& mac, std::array<uint8_t, 16>& ip);

}  // namespace vrfabric::ra
