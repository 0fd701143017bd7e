#pragma once
// A direct, per-packet interpretation of a PolicyInput, written from the semantics in
// compiler.h without groups, interval splitting or tables: the yardstick that compiled tables
// are checked against. Deliberately naive (linear scans, string comparisons).
#include <algorithm>

#include "vrfabric/policy/compiler.h"
#include "vrfabric/policy/tags.h"

namespace oracle {
using namespace vrfabric::policy;

struct Side {
  Address addr;
  const Interface* itf = nullptr;  // null: an address that is no endpoint
  TagSet tags;
};

inline bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
inline bool in_prefix(const std::string& cidr, const Address& a) { return parse_prefix(cidr)->contains(a); }
inline bool port_in(const std::vector<PortRange>& ranges, int port) {
  return ranges.empty() || std::any_of(ranges.begin(), ranges.end(),
                                       [&](const PortRange& r) { return r.lo <= port && port <= r.hi; });
}
inline bool proto_ok(uint8_t rule, uint8_t pkt) { return rule == kAnyProtocol || rule == pkt; }

template <class T>
const T* find(const std::vector<T>& v, const std::string& name) {
  for (const auto& x : v)
    if (x.name == name) return &x;
  return nullptr;
}

inline std::vector<SequencedRef> sorted(std::vector<SequencedRef> v) {
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.sequence < b.sequence; });
  return v;
}

inline bool names_net(const std::vector<std::string>& l, const std::string& n) { return has(l, "any") || has(l, n); }
inline bool np_covers(const NetworkPolicyRule& r, const std::string& s, const std::string& d) {
  bool f = names_net(r.src_networks, s) && names_net(r.dst_networks, d);
  bool b = names_net(r.src_networks, d) && names_net(r.dst_networks, s);
  return r.direction == Direction::Forward ? f : r.direction == Direction::Reverse ? b : f || b;
}

class Oracle {
 public:
  explicit Oracle(const PolicyInput& in) : in_(in) {
    for (const auto& i : in.interfaces) tags_[i.name] = effective_tags(in, i.name);
  }

  Action decide(uint32_t vrf, const Address& src, const Address& dst, uint8_t proto, int port) const {
    const Network* net = nullptr;
    for (const auto& n : in_.networks)
      if (n.vrf == vrf) net = &n;
    if (!net) return Action::Pass;  // unknown VRF: no policy
    Side s = side(*net, src), d = side(*net, dst);
    if (!s.itf && !d.itf) return Action::Deny;
    if (s.itf && !s.itf->security_groups.empty() && !sg_allows(*s.itf, SgDirection::Egress, d, proto, port))
      return Action::Deny;
    if (d.itf && !d.itf->security_groups.empty() && !sg_allows(*d.itf, SgDirection::Ingress, s, proto, port))
      return Action::Deny;
    if (s.itf && d.itf) {
      const auto &sn = s.itf->network, &dn = d.itf->network;
      if (sn == dn) {
        if (np_side(sn, sn, dn, proto, port).value_or(Action::Pass) == Action::Deny) return Action::Deny;
      } else if (np_side(sn, sn, dn, proto, port).value_or(Action::Deny) == Action::Deny ||
                 np_side(dn, sn, dn, proto, port).value_or(Action::Deny) == Action::Deny) {
        return Action::Deny;
      }
    }
    for (const auto& aps : in_.application_policy_sets)
      if ((applies(aps, s) || applies(aps, d)) && aps_decide(aps, s, d, proto, port) == Action::Deny)
        return Action::Deny;
    return Action::Pass;
  }

 private:
  bool passes_between(const std::string& n, const std::string& other) const {
    for (const auto& ref : find(in_.networks, n)->policies)
      for (const auto& r : find(in_.network_policies, ref.name)->rules)
        if (r.action == Action::Pass && (np_covers(r, n, other) || np_covers(r, other, n))) return true;
    return false;
  }
  Side side(const Network& vrf_net, const Address& a) const {
    Side s{a, nullptr, {}};
    for (const auto& i : in_.interfaces) {
      bool visible = i.network == vrf_net.name ||
                     (passes_between(i.network, vrf_net.name) && passes_between(vrf_net.name, i.network));
      if (!visible) continue;
      for (const auto& text : i.addresses)
        if (parse_prefix(text)->addr == a) {
          s.itf = &i;
          s.tags = tags_.at(i.name);
        }
    }
    return s;
  }
  bool sg_allows(const Interface& self, SgDirection dir, const Side& remote, uint8_t proto, int port) const {
    for (const auto& name : self.security_groups)
      for (const auto& r : find(in_.security_groups, name)->rules) {
        if (r.direction != dir || r.ethertype != remote.addr.family || !proto_ok(r.protocol, proto) ||
            !port_in(r.ports, port))
          continue;
        if (!r.remote_cidr.empty() && !in_prefix(r.remote_cidr, remote.addr)) continue;
        if (!r.remote_group.empty() && !(remote.itf && has(remote.itf->security_groups, r.remote_group))) continue;
        return true;
      }
    return false;
  }
  std::optional<Action> np_side(const std::string& owner, const std::string& sn, const std::string& dn,
                                uint8_t proto, int port) const {
    for (const auto& ref : sorted(find(in_.networks, owner)->policies))
      for (const auto& r : find(in_.network_policies, ref.name)->rules)
        if (np_covers(r, sn, dn) && proto_ok(r.protocol, proto) && port_in(r.dst_ports, port)) return r.action;
    return std::nullopt;
  }
  bool has_tag(const Side& s, const std::string& tag) const {
    for (const auto& [type, names] : s.tags)
      if (has(names, tag)) return true;
    return false;
  }
  bool applies(const ApplicationPolicySet& aps, const Side& s) const {
    if (aps.all_applications) return true;
    return std::any_of(aps.tags.begin(), aps.tags.end(), [&](auto& t) { return has_tag(s, t); });
  }
  bool ep_matches(const FirewallEndpoint& ep, const Side& s) const {
    for (const auto& t : ep.tags)
      if (!has_tag(s, t)) return false;
    if (!ep.address_group.empty()) {
      const auto& ps = find(in_.address_groups, ep.address_group)->prefixes;
      if (std::none_of(ps.begin(), ps.end(), [&](auto& p) { return in_prefix(p, s.addr); })) return false;
    }
    if (!ep.virtual_network.empty() && !(s.itf && s.itf->network == ep.virtual_network)) return false;
    return true;
  }
  std::vector<std::string> values(const Side& s, const std::string& type) const {
    std::vector<std::string> v;
    if (auto it = s.tags.find(type); it != s.tags.end())
      for (const auto& n : it->second) v.push_back(find(in_.tags, n)->value);
    std::sort(v.begin(), v.end());
    return v;
  }
  bool rule_matches(const FirewallRule& r, const Side& s, const Side& d, uint8_t proto, int port) const {
    bool fwd = ep_matches(r.endpoint_1, s) && ep_matches(r.endpoint_2, d);
    bool rev = ep_matches(r.endpoint_2, s) && ep_matches(r.endpoint_1, d);
    bool hit = r.direction == Direction::Forward ? fwd : r.direction == Direction::Reverse ? rev : fwd || rev;
    if (!hit) return false;
    for (const auto& type : r.match_tags)
      if (values(s, type).empty() || values(s, type) != values(d, type)) return false;
    std::vector<Service> services = r.services;
    for (const auto& g : r.service_groups) {
      const auto& more = find(in_.service_groups, g)->services;
      services.insert(services.end(), more.begin(), more.end());
    }
    if (services.empty()) return true;
    return std::any_of(services.begin(), services.end(), [&](const Service& sv) {
      return proto_ok(sv.protocol, proto) && sv.dst_ports.lo <= port && port <= sv.dst_ports.hi;
    });
  }
  Action aps_decide(const ApplicationPolicySet& aps, const Side& s, const Side& d, uint8_t proto, int port) const {
    for (const auto& pref : sorted(aps.policies))
      for (const auto& rref : sorted(find(in_.firewall_policies, pref.name)->rules)) {
        const auto& r = *find(in_.firewall_rules, rref.name);
        if (rule_matches(r, s, d, proto, port)) return r.action;
      }
    return Action::Deny;
  }

  const PolicyInput& in_;
  std::map<std::string, TagSet> tags_;
};

}  // namespace oracle
