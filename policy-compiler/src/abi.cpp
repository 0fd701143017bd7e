#include "vrfabric/policy/abi.h"

#include <arpa/inet.h>

namespace vrfabric::policy {

vr_rule_key to_abi_key(const RuleEntry& r) {
  vr_rule_key k{};
  k.prefixlen = 32 + 32 + 8 + 8 + r.port_len;  // src, dst, proto and pad matched whole
  k.src_epg = r.src_epg;
  k.dst_epg = r.dst_epg;
  k.proto = r.protocol;
  k.pad = 0;
  k.dport = htons(r.port);
  return k;
}

AbiTables to_abi(const CompiledPolicy& c) {
  AbiTables t;
  for (const auto& e : c.epg_entries) {
    if (e.prefix.addr.family == Family::V4) {
      vr_epg4_key k{};
      k.prefixlen = 32 + e.prefix.len;
      k.vrf = e.vrf;
      k.addr = htonl(static_cast<uint32_t>(e.prefix.addr.value));
      t.epg4.push_back({k, e.epg});
    } else {
      vr_epg6_key k{};
      k.prefixlen = 32 + e.prefix.len;
      k.vrf = e.vrf;
      u128 v = e.prefix.addr.value;
      for (int i = 15; i >= 0; --i, v >>= 8) k.addr[i] = static_cast<__u8>(v & 0xff);
      t.epg6.push_back({k, e.epg});
    }
  }
  for (const auto& r : c.rules) {
    vr_rule v{};
    v.action = r.action != Action::Pass ? VR_ACT_DENY : c.mirrors.count(r.rule_id) ? VR_ACT_MIRROR : VR_ACT_PASS;
    v.rule_id = r.rule_id;
    t.rules.push_back({to_abi_key(r), v});
  }
  return t;
}

}  // namespace vrfabric::policy
