// Pure codec: bytes <-> message structs. No I/O, no state beyond the per-session
// DecodeContext. Decoding never throws to the caller; a malformed message comes
// back as the NOTIFICATION the session must send (RFC 4271 6, RFC 7606).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vrfabric/bgp/message.h"

namespace vrfabric::bgp {

inline constexpr size_t kHeaderSize = 19;
inline constexpr size_t kMaxMessageSize = 4096;

// What was negotiated on the session and changes how UPDATEs are read/written.
struct CodecContext {
  bool as4 = true;  // both sides sent the 4-octet AS capability (RFC 6793)
};

// A protocol error found while decoding: the NOTIFICATION to send and a reason for logs.
struct DecodeError {
  NotificationMessage notification;
  std::string reason;
};

struct DecodeResult {
  std::optional<Message> message;
  std::optional<DecodeError> error;
  bool ok() const { return message.has_value(); }
};

// Returns the length of the next complete message in buf (0 when more bytes are
// needed) or sets *error for a bad marker/length/type (RFC 4271 6.1).
size_t frameLength(const uint8_t* buf, size_t len, DecodeError* error);

// Decodes one full message (header included).
DecodeResult decodeMessage(const uint8_t* buf, size_t len, const CodecContext& ctx);

// Encoders append a complete message (header included) to out.
void encodeOpen(const OpenMessage& m, std::vector<uint8_t>& out);
void encodeKeepalive(std::vector<uint8_t>& out);
void encodeNotification(const NotificationMessage& m, std::vector<uint8_t>& out);
void encodeRouteRefresh(const RouteRefreshMessage& m, std::vector<uint8_t>& out);
// Encodes one UPDATE. Besides IPv4 unicast (which has its own fields), announced
// NLRIs must share one family and withdrawn ones one family (one MP_REACH and one
// MP_UNREACH). Returns false, writing nothing, if that does not hold or the message
// would exceed 4096 bytes; encodeUpdates() is the general-purpose packer.
bool encodeUpdate(const UpdateMessage& m, const CodecContext& ctx, std::vector<uint8_t>& out);
void encodeEndOfRib(Family f, std::vector<uint8_t>& out);

// Packs many NLRIs sharing one attribute set into as few UPDATEs as fit; attrs may be
// null for pure withdrawals. Each finished message is appended to out.
void encodeUpdates(Family family, const PathAttributes* attrs, const std::vector<Nlri>& announce,
                   const std::vector<Nlri>& withdraw, const CodecContext& ctx,
                   std::vector<uint8_t>& out);

// Exposed for tests and the RIB's hashing: the NLRI exactly as it appears on the wire.
void encodeNlri(const Nlri& n, std::vector<uint8_t>& out);

}  // namespace vrfabric::bgp
