#include "layers.h"

#include <algorithm>

#include "netpolicy.h"

namespace vrfabric::policy::detail {
namespace {

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<SequencedRef> by_sequence(std::vector<SequencedRef> refs) {
  std::stable_sort(refs.begin(), refs.end(),
                   [](const SequencedRef& a, const SequencedRef& b) { return a.sequence < b.sequence; });
  return refs;
}

const char* direction_name(SgDirection d) { return d == SgDirection::Ingress ? "ingress" : "egress"; }

std::string mirror_note(const std::string& analyzer) {
  return analyzer.empty() ? "" : ", mirrored to " + short_name(analyzer);
}

}  // namespace

LayerBuilder::LayerBuilder(const Index& ix, const std::vector<Epg>& epgs, RuleIds& ids) : ix_(ix) {
  const PolicyInput& in = *ix.input;
  sg_egress_default_ = ids.add("security-group default deny (egress: no rule of the source's groups matches)");
  sg_ingress_default_ = ids.add("security-group default deny (ingress: no rule of the destination's groups matches)");
  np_cross_default_ = ids.add("network-policy default deny (different networks: no policy of this network allows)");
  np_same_default_ = ids.add("network-policy default allow (same network)");
  no_policy_ = ids.add("allowed: no policy applies");
  for (const auto& sg : in.security_groups)
    for (size_t k = 0; k < sg.rules.size(); ++k)
      sg_ids_[{sg.name, k}] = ids.add("security-group " + short_name(sg.name) + " " +
                                      direction_name(sg.rules[k].direction) + " #" + std::to_string(k + 1));
  for (const auto& np : in.network_policies)
    for (size_t k = 0; k < np.rules.size(); ++k) {
      uint32_t id = ids.add("network-policy " + short_name(np.name) + " #" + std::to_string(k + 1) +
                            mirror_note(np.rules[k].mirror_to));
      ids.mirror(id, np.rules[k].mirror_to);
      np_ids_[{np.name, k}] = id;
    }

  index_groups(epgs);
  for (const auto& aps : in.application_policy_sets) {
    Aps a{&aps, ids.add("firewall default deny (aps " + short_name(aps.name) + ": no rule matches)"), {}, {}, {}};
    for (const auto& pref : by_sequence(aps.policies)) {
      for (const auto& rref : by_sequence(ix.firewall_policies.at(pref.name)->rules)) {
        const FirewallRule* r = ix.firewall_rules.at(rref.name);
        FwItem item{r, ids.add("firewall-rule " + short_name(r->name) + " (aps " + short_name(aps.name) +
                               ", policy " + short_name(pref.name) + ", seq " + sequence_text(rref.sequence) + ")" +
                               mirror_note(r->mirror_to)),
                    {}, {}, {}};
        ids.mirror(item.id, r->mirror_to);
        Verdict v{r->action, item.id};
        std::vector<Service> services = r->services;
        for (const auto& g : r->service_groups) {
          const auto& more = ix.service_groups.at(g)->services;
          services.insert(services.end(), more.begin(), more.end());
        }
        if (services.empty()) services.push_back(Service{});  // no service: any
        for (const auto& s : services) item.services.push_back({s.protocol, {s.dst_ports}, v});
        // Endpoint matching is per group, not per pair: precomputed once here.
        for (const auto& e : epgs) {
          item.side1.push_back(matches(r->endpoint_1, e));
          item.side2.push_back(matches(r->endpoint_2, e));
        }
        a.items.push_back(std::move(item));
      }
    }
    for (const auto& e : epgs) a.applies.push_back(applies(a, e));
    a.by_source.resize(epgs.size());
    for (uint32_t k = 0; k < a.items.size(); ++k) {
      const auto& item = a.items[k];
      Direction dir = item.rule->direction;
      for (size_t e = 0; e < epgs.size(); ++e) {
        bool as_side1 = dir != Direction::Reverse && item.side1[e];
        bool as_side2 = dir != Direction::Forward && item.side2[e];
        if (as_side1 || as_side2) a.by_source[e].push_back(k);
      }
    }
    aps_.push_back(std::move(a));
  }
}

void LayerBuilder::add_sg_layer(const Epg& self, const Epg& remote, SgDirection dir,
                                std::vector<Layer>& out) const {
  if (self.network.empty() || self.security_groups.empty()) return;  // no SG: no filtering
  Layer layer;
  layer.fallback = {Action::Deny, dir == SgDirection::Egress ? sg_egress_default_ : sg_ingress_default_};
  for (const auto& name : self.security_groups) {
    const auto& rules = ix_.security_groups.at(name)->rules;
    for (size_t k = 0; k < rules.size(); ++k) {
      const auto& r = rules[k];
      if (r.direction != dir || r.ethertype != self.family) continue;
      if (!r.remote_cidr.empty() && !contains(remote.cidrs, ix_.sg_remote_cidr.at({name, k}))) continue;
      if (!r.remote_group.empty() && !contains(remote.security_groups, r.remote_group)) continue;
      layer.rules.push_back({r.protocol, r.ports, {Action::Pass, sg_ids_.at({name, k})}});
    }
  }
  out.push_back(std::move(layer));
}

void LayerBuilder::add_network_side(const std::string& network, const Epg& src, const Epg& dst,
                                    Verdict fallback, std::vector<Layer>& out) const {
  Layer layer;
  layer.fallback = fallback;
  for (const auto* p : attached_policies(ix_, network))
    for (size_t k = 0; k < p->rules.size(); ++k) {
      const auto& r = p->rules[k];
      if (covers(r, src.network, dst.network))
        layer.rules.push_back({r.protocol, r.dst_ports, {r.action, np_ids_.at({p->name, k})}});
    }
  // Inside a network with no rule about it the layer always passes: leave it out so that
  // pass descriptions name only rules that had a say.
  if (layer.rules.empty() && fallback.action == Action::Pass) return;
  out.push_back(std::move(layer));
}

void LayerBuilder::add_network_layers(const Epg& src, const Epg& dst, std::vector<Layer>& out) const {
  if (src.network.empty() || dst.network.empty()) return;  // external addresses: not a VN's traffic
  auto [it, fresh] = network_layers_.try_emplace({src.network, dst.network});
  if (fresh) {
    if (src.network == dst.network) {
      add_network_side(src.network, src, dst, {Action::Pass, np_same_default_}, it->second);
    } else {
      add_network_side(src.network, src, dst, {Action::Deny, np_cross_default_}, it->second);
      add_network_side(dst.network, src, dst, {Action::Deny, np_cross_default_}, it->second);
    }
  }
  out.insert(out.end(), it->second.begin(), it->second.end());
}

void LayerBuilder::index_groups(const std::vector<Epg>& epgs) {
  for (const auto& e : epgs) {
    auto& names = tag_names_.emplace_back();
    auto& values = tag_values_.emplace_back();
    for (const auto& [type, tags] : e.tags)
      for (const auto& t : tags) {
        names.push_back(t);
        values[type].push_back(ix_.tag(t).value);
      }
    std::sort(names.begin(), names.end());
    for (auto& [type, v] : values) std::sort(v.begin(), v.end());
  }
}

bool LayerBuilder::matches(const FirewallEndpoint& ep, const Epg& e) const {
  const auto& names = tag_names_[e.id - 1];
  for (const auto& t : ep.tags)
    if (!std::binary_search(names.begin(), names.end(), t)) return false;
  if (!ep.address_group.empty()) {
    const auto& prefixes = ix_.group_prefixes.at(ep.address_group);
    if (std::none_of(prefixes.begin(), prefixes.end(), [&](const Prefix& p) { return contains(e.cidrs, p); }))
      return false;
  }
  if (!ep.virtual_network.empty() && e.network != ep.virtual_network) return false;
  return true;  // `any`, or every condition given held
}

bool LayerBuilder::same_values(const std::vector<std::string>& types, const Epg& a, const Epg& b) const {
  const auto &va = tag_values_[a.id - 1], &vb = tag_values_[b.id - 1];
  for (const auto& type : types) {
    auto ia = va.find(type), ib = vb.find(type);
    if (ia == va.end() || ib == vb.end() || ia->second != ib->second) return false;  // missing: no match
  }
  return true;
}

bool LayerBuilder::under_policy(const Epg& e) const {
  if (!e.security_groups.empty()) return true;
  if (!e.network.empty() && !ix_.networks.at(e.network)->policies.empty()) return true;
  return std::any_of(aps_.begin(), aps_.end(), [&](const Aps& a) { return a.applies[e.id - 1]; });
}

bool LayerBuilder::applies(const Aps& a, const Epg& e) const {
  // A project's application policy set governs that project's workloads only (else one
  // tenant's set, with its default deny, would decide another's traffic); a set of no
  // project, the fabric operator's, governs every workload.
  std::string owner = parent_of(a.aps->name);
  if (!owner.empty() && (e.network.empty() || parent_of(e.network) != owner)) return false;
  if (a.aps->all_applications) return true;
  auto it = e.tags.find("application");
  if (it == e.tags.end()) return false;
  return std::any_of(a.aps->tags.begin(), a.aps->tags.end(),
                     [&](const std::string& t) { return contains(it->second, t); });
}

void LayerBuilder::add_aps(const Aps& a, const Epg& src, const Epg& dst, std::vector<Layer>& out) const {
  Layer layer;
  layer.fallback = {Action::Deny, a.default_id};
  size_t s = src.id - 1, d = dst.id - 1;
  for (uint32_t k : a.by_source[s]) {
    const auto& item = a.items[k];
    bool forward = item.side1[s] && item.side2[d];
    bool reverse = item.side2[s] && item.side1[d];
    Direction dir = item.rule->direction;
    bool hit = dir == Direction::Forward ? forward : dir == Direction::Reverse ? reverse : forward || reverse;
    if (hit && same_values(item.rule->match_tags, src, dst))
      layer.rules.insert(layer.rules.end(), item.services.begin(), item.services.end());
  }
  out.push_back(std::move(layer));
}

std::vector<Layer> LayerBuilder::layers(const Epg& src, const Epg& dst) const {
  std::vector<Layer> out;
  add_sg_layer(src, dst, SgDirection::Egress, out);
  add_sg_layer(dst, src, SgDirection::Ingress, out);
  add_network_layers(src, dst, out);
  for (const auto& a : aps_)
    if (a.applies[src.id - 1] || a.applies[dst.id - 1]) add_aps(a, src, dst, out);
  return out;
}

}  // namespace vrfabric::policy::detail
