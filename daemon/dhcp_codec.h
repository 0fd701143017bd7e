#pragma once
// DHCPv4 (RFC 2131/2132) as pure functions: bytes of a UDP payload <-> a message struct, and
// the server's answer to a client message. No sockets here; dhcp_server.cpp does the I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vrfabric::dhcp {

enum MessageType : uint8_t {
  kDiscover = 1, kOffer = 2, kRequest = 3, kDecline = 4, kAck = 5, kNak = 6, kRelease = 7, kInform = 8,
};

struct Message {
  uint8_t op = 1;                    // 1 request, 2 reply
  uint32_t xid = 0;
  uint16_t flags = 0;                // 0x8000: the client wants broadcast replies
  uint32_t ciaddr = 0, yiaddr = 0, siaddr = 0, giaddr = 0;  // network order
  std::array<uint8_t, 6> chaddr{};
  MessageType type = kDiscover;
  std::optional<uint32_t> requested_ip;  // option 50, network order
  std::optional<uint32_t> server_id;     // option 54
  // Reply options
  std::optional<uint32_t> subnet_mask, router, lease_seconds;
  std::vector<uint32_t> dns;
  std::optional<uint16_t> mtu;
};

// Parses a BOOTP/DHCP payload; nullopt (with the reason in *error) for anything malformed.
std::optional<Message> decode(const uint8_t* data, size_t len, std::string* error = nullptr);
std::vector<uint8_t> encode(const Message& m);

// What the agent hands out on one interface.
struct Lease {
  uint32_t address = 0;              // network order
  uint8_t prefix_len = 24;
  uint32_t gateway = 0;              // also the server identifier
  std::vector<uint32_t> dns;
  uint16_t mtu = 0;
  uint32_t lease_seconds = 86400;
  bool operator==(const Lease&) const = default;
};

// The answer to a client message, or nullopt when none is due (release, decline, a request
// meant for another server, a reply).
std::optional<Message> answer(const Message& request, const Lease& lease);

}  // namespace vrfabric::dhcp
