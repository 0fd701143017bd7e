// The property checked on every fuzz input (libFuzzer target and the plain
// regression test share it): decoding never crashes, and an UPDATE that decodes
// and re-encodes decodes again to the same routes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#include "vrfabric/bgp/codec.h"

namespace vrfabric::bgp::fuzz {

// The first input byte picks the session context (2- or 4-octet AS).
inline void decodeOne(const uint8_t* data, size_t size) {
  if (size < 1) return;
  CodecContext ctx{(data[0] & 1) != 0};
  ++data;
  --size;
  DecodeError fe{};
  (void)frameLength(data, size, &fe);
  DecodeResult r = decodeMessage(data, size, ctx);
  if (!r.ok()) return;
  auto* u = std::get_if<UpdateMessage>(&*r.message);
  if (!u) return;
  std::vector<uint8_t> again;
  if (!encodeUpdate(*u, ctx, again)) return;  // may legitimately not fit any more
  DecodeResult r2 = decodeMessage(again.data(), again.size(), ctx);
  if (!r2.ok()) {
    std::fprintf(stderr, "re-encoded UPDATE does not decode: %s\n", r2.error->reason.c_str());
    std::abort();
  }
  auto& u2 = std::get<UpdateMessage>(*r2.message);
  // Order may change (IPv4 prefixes move to their own fields), the sets may not.
  auto sorted = [](std::vector<Nlri> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  if (sorted(u2.announced) != sorted(u->announced) || sorted(u2.withdrawn) != sorted(u->withdrawn)) {
    std::fprintf(stderr, "UPDATE round trip changed its routes\n");
    std::abort();
  }
}

}  // namespace vrfabric::bgp::fuzz
