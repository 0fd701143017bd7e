// compile(): validate, group, then decide every pair of groups that can meet in some VRF.
#include "decide.h"
#include "groups.h"
#include "layers.h"

namespace vrfabric::policy {

namespace {
// Pairs the datapath can look up: two endpoints visible in a common VRF (same or connected
// networks), or an endpoint and an external group. Two external addresses never involve a
// local interface, and endpoints of unconnected networks never share a VRF.
bool can_meet(const Epg& a, const Epg& b, const detail::Groups& g) {
  if (a.family != b.family) return false;
  if (a.network.empty() || b.network.empty()) return !(a.network.empty() && b.network.empty());
  return g.connected.at(a.network).count(b.network) > 0;
}
}  // namespace

CompiledPolicy compile(const PolicyInput& input) {
  detail::Index ix = detail::build_index(input);
  detail::Groups groups = detail::build_groups(ix);
  detail::RuleIds ids;
  detail::LayerBuilder layers(ix, groups.epgs, ids);

  CompiledPolicy out;
  for (const auto& src : groups.epgs)
    for (const auto& dst : groups.epgs)
      if (can_meet(src, dst, groups))
        detail::emit_pair(layers.layers(src, dst), src.id, dst.id, ids, layers.no_policy_id(), out.rules);

  out.vrfs = ix.vrf;
  for (const auto& [net, peers] : groups.connected)
    for (const auto& peer : peers)
      if (peer != net) out.connections[net].insert(peer);
  out.epgs = std::move(groups.epgs);
  out.interfaces = std::move(groups.interfaces);
  for (auto& itf : out.interfaces)
    for (const auto& [addr, epg] : itf.addresses) itf.under_policy |= layers.under_policy(out.epgs[epg - 1]);
  out.epg_entries = std::move(groups.entries);
  out.mirrors = ids.take_mirrors();
  out.rule_descriptions = ids.take();
  return out;
}

}  // namespace vrfabric::policy
