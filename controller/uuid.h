#pragma once
// Random (version 4) UUIDs and hex tokens from the OS entropy source.
#include <random>
#include <string>

namespace vrf {

inline std::string random_hex(size_t bytes) {
  thread_local std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < bytes; i += 4) {
    uint32_t r = rd();
    for (size_t k = 0; k < 4 && i + k < bytes; ++k, r >>= 8) {
      s += hex[(r >> 4) & 0xf];
      s += hex[r & 0xf];
    }
  }
  return s;
}

inline std::string new_uuid() {
  std::string h = random_hex(16);
  h[12] = '4';
  h[16] = "89ab"[h[16] % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace vrf
