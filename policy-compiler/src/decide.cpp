#include "decide.h"

#include <set>

namespace vrfabric::policy::detail {
namespace {

const PortRange kAllPorts{0, 65535};

// One layer's verdict per port for packets of `protocol` (kAnyProtocol: a protocol no rule of
// the pair names, so only any-protocol rules can match it).
std::vector<Segment> paint(const Layer& layer, uint8_t protocol) {
  FirstMatchPainter painter;
  for (const auto& rule : layer.rules) {
    if (rule.protocol != kAnyProtocol && rule.protocol != protocol) continue;
    if (rule.ports.empty()) painter.paint(kAllPorts, rule.verdict);
    for (const auto& r : rule.ports) painter.paint(r, rule.verdict);
    if (painter.done()) break;  // everything decided: later rules are shadowed
  }
  return painter.finish(layer.fallback);
}

void emit(const Segment& s, uint32_t src, uint32_t dst, uint8_t protocol, std::vector<RuleEntry>& out) {
  for (auto [port, len] : port_prefixes(s.lo, s.hi))
    out.push_back({src, dst, protocol, port, len, s.verdict.action, s.verdict.id});
}

}  // namespace

void emit_pair(const std::vector<Layer>& layers, uint32_t src_epg, uint32_t dst_epg, RuleIds& ids,
               uint32_t no_policy_id, std::vector<RuleEntry>& out) {
  // The first denying layer decides a deny; a pass names every layer's passing rule.
  auto conjunction = [&](const std::vector<Verdict>& vs) {
    std::vector<uint32_t> passes;
    for (const auto& v : vs) {
      if (v.action == Action::Deny) return v;
      passes.push_back(v.id);
    }
    return Verdict{Action::Pass, passes.empty() ? no_policy_id : ids.combination(passes)};
  };
  auto decide = [&](uint8_t protocol) {
    std::vector<std::vector<Segment>> painted;
    for (const auto& l : layers) painted.push_back(paint(l, protocol));
    if (painted.empty()) return std::vector<Segment>{{0, 65535, conjunction({})}};
    return combine(painted, conjunction);
  };

  std::vector<Segment> any = decide(kAnyProtocol);
  for (const auto& s : any)
    if (s.verdict.action == Action::Pass) emit(s, src_epg, dst_epg, kAnyProtocol, out);

  // Exact protocols: the datapath tries them before ANY, so an entry is needed exactly where
  // the protocol's verdict differs from what the ANY lookup would give (a miss there falls
  // through to ANY). Where both deny nothing is stored: a miss is a deny.
  std::set<uint8_t> named;
  for (const auto& l : layers)
    for (const auto& r : l.rules)
      if (r.protocol != kAnyProtocol) named.insert(r.protocol);
  const Verdict same{Action::Deny, UINT32_MAX};  // marker: no entry needed
  for (uint8_t p : named) {
    auto diff = combine({decide(p), any}, [&](const std::vector<Verdict>& v) {
      bool both_deny = v[0].action == Action::Deny && v[1].action == Action::Deny;
      return (v[0] == v[1] || both_deny) ? same : v[0];
    });
    for (const auto& s : diff)
      if (!(s.verdict == same)) emit(s, src_epg, dst_epg, p, out);
  }
}

}  // namespace vrfabric::policy::detail
