#include "mirror_datagram.h"

#include <net/ethernet.h>

#include <algorithm>
#include <cstring>

namespace vrfabric {

namespace {
constexpr char kMagic[4] = {'V', 'R', 'M', 'R'};
constexpr size_t kNameLen = 16, kHeader = sizeof kMagic + kNameLen;
}  // namespace

std::vector<uint8_t> encode_mirror_datagram(const std::string& analyzer, const uint8_t* frame, size_t len) {
  std::vector<uint8_t> out(kHeader, 0);
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  std::memcpy(out.data() + sizeof kMagic, analyzer.data(), std::min(analyzer.size(), kNameLen - 1));
  out.insert(out.end(), frame, frame + len);
  return out;
}

std::optional<MirrorDatagram> decode_mirror_datagram(const uint8_t* data, size_t len) {
  if (len < kHeader + sizeof(ether_header) || std::memcmp(data, kMagic, sizeof kMagic) != 0) return std::nullopt;
  const char* name = reinterpret_cast<const char*>(data + sizeof kMagic);
  size_t n = strnlen(name, kNameLen);
  if (n == 0 || n == kNameLen) return std::nullopt;  // a name, NUL terminated within its field
  return MirrorDatagram{std::string(name, n), data + kHeader, len - kHeader};
}

}  // namespace vrfabric
