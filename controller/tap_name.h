#pragma once
// The host-side name of a port's veth, the same on every agent: "tap" and the end of the
// port's uuid, within the kernel's 15-character interface names.
#include <string>

namespace vrf {

inline std::string tap_name(const std::string& uuid) {
  std::string hex;
  for (char c : uuid)
    if (c != '-') hex += c;
  return "tap" + hex.substr(hex.size() > 11 ? hex.size() - 11 : 0);
}

}  // namespace vrf
