#pragma once
// The datagram that carries a mirrored frame from the agent that copied it to the agent of
// the host where the analyzer lives (UDP over the fabric). Pure, for tests and fuzzing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vrfabric {

inline constexpr uint16_t kMirrorPort = 8099;

// "VRMR", the analyzer's interface name (16 bytes, NUL padded), then the frame.
std::vector<uint8_t> encode_mirror_datagram(const std::string& analyzer, const uint8_t* frame, size_t len);
struct MirrorDatagram {
  std::string analyzer;
  const uint8_t* frame = nullptr;
  size_t len = 0;
};
std::optional<MirrorDatagram> decode_mirror_datagram(const uint8_t* data, size_t len);

}  // namespace vrfabric
