// Helpers shared by the BGP unit tests.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace vrfabric::bgp::test {

// "ff 00 1a" (spaces ignored) -> bytes.
inline std::vector<uint8_t> fromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : hex) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (hi < 0) hi = v;
    else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

inline std::string toHex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

}  // namespace vrfabric::bgp::test
