// libFuzzer target for the DHCP codec: decode, answer and re-encode whatever comes in.
#include <cstddef>
#include <cstdint>

#include "dhcp6_codec.h"
#include "dhcp_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
