// The reference evaluator: the datapath's lookups, done by linear scans over the compiled
// tables (clarity over speed; it is the yardstick for tests, not a fast path).
#include "vrfabric/policy/compiler.h"

namespace vrfabric::policy {
namespace {

uint32_t lookup_epg(const CompiledPolicy& c, uint32_t vrf, const Address& a) {
  const EpgEntry* best = nullptr;
  for (const auto& e : c.epg_entries)
    if (e.vrf == vrf && e.prefix.contains(a) && (!best || e.prefix.len > best->prefix.len)) best = &e;
  return best ? best->epg : 0;
}

const RuleEntry* lookup_rule(const CompiledPolicy& c, uint32_t src, uint32_t dst, uint8_t proto,
                             uint16_t dport) {
  const RuleEntry* best = nullptr;
  for (const auto& r : c.rules) {
    if (r.src_epg != src || r.dst_epg != dst || r.protocol != proto) continue;
    uint32_t mask = r.port_len == 0 ? 0 : (0xffffu << (16 - r.port_len)) & 0xffffu;
    if ((dport & mask) != r.port) continue;
    if (!best || r.port_len > best->port_len) best = &r;
  }
  return best;
}

}  // namespace

Decision evaluate(const CompiledPolicy& c, uint32_t vrf, const Address& src, const Address& dst,
                  uint8_t protocol, uint16_t dport) {
  Decision d;
  d.src_epg = lookup_epg(c, vrf, src);
  d.dst_epg = lookup_epg(c, vrf, dst);
  if (!d.src_epg || !d.dst_epg) {  // VR_EPG_NONE: not under policy
    d.action = Action::Pass;
    return d;
  }
  const RuleEntry* r = protocol == kAnyProtocol ? nullptr : lookup_rule(c, d.src_epg, d.dst_epg, protocol, dport);
  if (!r) r = lookup_rule(c, d.src_epg, d.dst_epg, kAnyProtocol, dport);
  if (r) {
    d.action = r->action;
    d.rule_id = r->rule_id;
  }
  return d;
}

}  // namespace vrfabric::policy
