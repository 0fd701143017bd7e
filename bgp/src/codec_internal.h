// Pieces of the codec shared between nlri.cpp, attributes.cpp and codec.cpp.
#pragma once

#include <vector>

#include "vrfabric/bgp/codec.h"
#include "wire.h"

namespace vrfabric::bgp::detail {

// Decodes a whole NLRI field of one family, appending to out. Throws wire::ParseError
// (with the reader's code) on malformed input. Unknown EVPN route types are skipped
// (RFC 7606 5.4).
void decodeNlriField(Family f, wire::Reader& r, std::vector<Nlri>& out);

// Path attributes without MP_REACH/MP_UNREACH, ascending type order. withNextHop adds
// the classic NEXT_HOP attribute (IPv4 unicast).
void encodeAttributes(const PathAttributes& a, bool withNextHop, const CodecContext& ctx,
                      wire::Writer& w);

// The MP_REACH next-hop field for a family (RD-prefixed for VPN, v4-mapped when needed).
void encodeMpNextHop(Family f, const PathAttributes& a, wire::Writer& w);

// Writes an attribute header; returns the offset of the length field so it can be
// patched once the value is written (always extended length when extended=true).
size_t beginAttribute(wire::Writer& w, uint8_t flags, uint8_t type, bool extended);
void endAttribute(wire::Writer& w, size_t lenAt, bool extended);

// Decodes the path attribute block of an UPDATE per RFC 7606, filling m (attrs,
// MP_REACH/UNREACH NLRI, treat-as-withdraw). ipv4NlriPresent tells whether NEXT_HOP
// is mandatory.
void decodeAttributes(wire::Reader& r, bool ipv4NlriPresent, const CodecContext& ctx,
                      UpdateMessage& m);

}  // namespace vrfabric::bgp::detail
