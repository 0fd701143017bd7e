#pragma once
// The Internet checksum (RFC 1071) for the frames the agent builds itself: sum16() adds
// big-endian 16-bit words to a running sum, fold() turns the sum into the checksum field.
#include <cstddef>
#include <cstdint>

namespace vrfabric {

inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  return sum;
}

inline uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace vrfabric
