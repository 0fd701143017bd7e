#pragma once
// DHCPv6 (RFC 8415) as pure functions: a client message -> the server's reply carrying the
// interface's address (IA_NA) and DNS servers. dhcp_server.cpp does the I/O for both families.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vrfabric::dhcp6 {

enum MessageType : uint8_t {
  kSolicit = 1, kAdvertise = 2, kRequest = 3, kConfirm = 4, kRenew = 5, kRebind = 6, kReply = 7,
  kRelease = 8, kDecline = 9, kInformationRequest = 11,
};

struct Lease {
  std::array<uint8_t, 16> address{};
  std::vector<std::array<uint8_t, 16>> dns;
  std::array<uint8_t, 6> server_mac{};  // the server DUID is DUID-LL of this MAC
  uint32_t preferred_seconds = 3600, valid_seconds = 7200;
  bool operator==(const Lease&) const = default;
};

// The reply to a client message, or nullopt (with the reason in *why) when none is due:
// malformed, not for us, or a message type a server does not answer.
std::optional<std::vector<uint8_t>> answer(const uint8_t* data, size_t len, const Lease& lease, std::string* why = nullptr);

}  // namespace vrfabric::dhcp6
