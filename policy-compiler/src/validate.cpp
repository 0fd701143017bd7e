// Input validation: resolve references, parse addresses, check ranges and orderings. All
// checks live here so that the compiling stages can assume well-formed input.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "index.h"

namespace vrfabric::policy {

std::optional<uint8_t> parse_protocol(std::string_view name) {
  if (name == "any") return kAnyProtocol;
  if (name == "tcp") return 6;
  if (name == "udp") return 17;
  if (name == "icmp") return 1;
  if (name == "icmp6") return 58;
  int n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec != std::errc() || end != name.data() + name.size() || n < 1 || n > 255)
    return std::nullopt;
  return static_cast<uint8_t>(n);
}

std::string protocol_name(uint8_t proto) {
  switch (proto) {
    case kAnyProtocol: return "any";
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmp6";
    default: return std::to_string(proto);
  }
}

namespace detail {

std::string parent_of(const std::string& fq_name) {
  auto colon = fq_name.rfind(':');
  return colon == std::string::npos ? std::string() : fq_name.substr(0, colon);
}

std::string short_name(const std::string& fq_name) {
  auto colon = fq_name.rfind(':');
  return colon == std::string::npos ? fq_name : fq_name.substr(colon + 1);
}

std::string sequence_text(double sequence) {
  std::string t = std::to_string(sequence);
  while (t.size() > 1 && t.back() == '0') t.pop_back();
  if (t.back() == '.') t.pop_back();
  return t;
}

namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Name -> object map for one kind; duplicate and empty names are errors.
template <class T>
void index_by_name(const char* kind, const std::vector<T>& objects,
                   std::map<std::string, const T*>& out) {
  for (const auto& o : objects) {
    if (o.name.empty()) throw PolicyError(kind, "name", "missing");
    if (!out.emplace(o.name, &o).second)
      throw PolicyError(std::string(kind) + " " + o.name, "name", "defined twice");
  }
}

template <class T>
void require(const std::map<std::string, const T*>& known, const std::string& name,
             const std::string& object, const std::string& field, const char* kind) {
  if (!known.count(name))
    throw PolicyError(object, field, "unknown " + std::string(kind) + " " + quoted(name));
}

void check_ports(const PortRange& r, const std::string& object, const std::string& field) {
  if (r.lo < 0 || r.hi > 65535 || r.lo > r.hi)
    throw PolicyError(object, field,
                      "invalid port range " + std::to_string(r.lo) + "-" + std::to_string(r.hi) +
                          " (need 0 <= start <= end <= 65535)");
}

void check_all_ports(const PortRange& r, const std::string& object, const std::string& field) {
  check_ports(r, object, field);
  if (r.lo != 0 || r.hi != 65535)
    throw PolicyError(object, field,
                      "source port ranges are not supported (the datapath matches the "
                      "destination port only); leave it out or use 0-65535");
}

Prefix parse_cidr(const std::string& text, const std::string& object, const std::string& field) {
  bool host_bits = false;
  auto p = parse_prefix(text, &host_bits);
  if (!p || text.find('/') == std::string::npos)
    throw PolicyError(object, field, "malformed CIDR " + quoted(text) + " (want ADDRESS/LEN)");
  if (host_bits)
    throw PolicyError(object, field,
                      "CIDR " + quoted(text) + " has host bits set; did you mean " + p->str() + "?");
  return *p;
}

// At most one tag per type at one level, except labels which accumulate.
void check_tag_refs(const Index& ix, const std::vector<std::string>& refs, const std::string& object) {
  std::map<std::string, std::string> by_type;
  for (const auto& ref : refs) {
    require(ix.tags, ref, object, "tags", "tag");
    const Tag& t = ix.tag(ref);
    if (t.type == "label") continue;
    auto [it, fresh] = by_type.emplace(t.type, ref);
    if (!fresh)
      throw PolicyError(object, "tags",
                        "two tags of type " + t.type + " (" + it->second + ", " + ref +
                            "): an object carries one value per tag type");
  }
}

void check_sequences(const std::vector<SequencedRef>& refs, const std::string& object,
                     const std::string& field) {
  std::map<double, std::string> seen;
  for (const auto& r : refs) {
    if (!std::isfinite(r.sequence))
      throw PolicyError(object, field, "sequence of " + quoted(r.name) + " is not a number");
    auto [it, fresh] = seen.emplace(r.sequence, r.name);
    if (!fresh)
      throw PolicyError(object, field,
                        quoted(it->second) + " and " + quoted(r.name) + " share sequence " +
                            sequence_text(r.sequence) + ": precedence would be ambiguous");
  }
}

void assign_vrfs(Index& ix, const PolicyInput& in) {
  std::map<uint32_t, std::string> taken;
  for (const auto& n : in.networks) {
    if (!n.vrf) continue;
    auto [it, fresh] = taken.emplace(n.vrf, n.name);
    if (!fresh)
      throw PolicyError("virtual-network " + n.name, "vrf",
                        "VRF " + std::to_string(n.vrf) + " already used by " + it->second);
    ix.vrf[n.name] = n.vrf;
  }
  uint32_t next = 1;  // the rest in name order, so ids do not depend on input order
  for (const auto& [name, n] : ix.networks) {
    if (n->vrf) continue;
    while (taken.count(next)) ++next;
    taken[next] = name;
    ix.vrf[name] = next;
  }
}

void index_endpoints(Index& ix, const PolicyInput& in) {
  for (const auto& p : in.projects) check_tag_refs(ix, p.tags, "project " + p.name);
  for (const auto& n : in.networks) {
    std::string obj = "virtual-network " + n.name;
    if (!n.project.empty()) require(ix.projects, n.project, obj, "project", "project");
    check_tag_refs(ix, n.tags, obj);
    for (const auto& ref : n.policies)
      require(ix.network_policies, ref.name, obj, "network_policy_refs", "network-policy");
  }
  for (const auto& w : in.workloads) check_tag_refs(ix, w.tags, "virtual-machine " + w.name);
  for (const auto& i : in.interfaces) {
    std::string obj = "virtual-machine-interface " + i.name;
    if (i.network.empty()) throw PolicyError(obj, "virtual_network", "missing");
    require(ix.networks, i.network, obj, "virtual_network", "virtual-network");
    if (!i.workload.empty()) require(ix.workloads, i.workload, obj, "virtual_machine", "virtual-machine");
    if (!i.project.empty()) require(ix.projects, i.project, obj, "project", "project");
    check_tag_refs(ix, i.tags, obj);
    for (const auto& sg : i.security_groups)
      require(ix.security_groups, sg, obj, "security_groups", "security-group");
    auto& addrs = ix.addresses[i.name];
    for (const auto& text : i.addresses) {
      auto p = parse_prefix(text);
      if (!p || p->len != p->bits())
        throw PolicyError(obj, "addresses",
                          "malformed address " + quoted(text) + " (want a host address)");
      if (std::find(addrs.begin(), addrs.end(), p->addr) != addrs.end())
        throw PolicyError(obj, "addresses", "address " + quoted(text) + " listed twice");
      addrs.push_back(p->addr);
    }
    auto& pairs = ix.allowed_pairs[i.name];
    for (const auto& text : i.allowed_pairs) {
      bool host_bits = false;
      auto p = parse_prefix(text, &host_bits);
      if (!p || host_bits)
        throw PolicyError(obj, "virtual_machine_interface_allowed_address_pairs",
                          "malformed prefix " + quoted(text));
      pairs.push_back(*p);
    }
  }
}

void index_rules(Index& ix, const PolicyInput& in) {
  // A copy goes to an analyzer only for traffic the rule lets through.
  auto check_mirror = [&](const std::string& analyzer, Action action, const std::string& obj, const std::string& field) {
    if (analyzer.empty()) return;
    require(ix.interfaces, analyzer, obj, field, "virtual-machine-interface");
    if (action != Action::Pass) throw PolicyError(obj, field, "only a pass rule can mirror");
  };
  for (const auto& sg : in.security_groups) {
    for (size_t k = 0; k < sg.rules.size(); ++k) {
      const auto& r = sg.rules[k];
      std::string obj = "security-group " + sg.name;
      std::string field = "rules[" + std::to_string(k) + "]";
      if (!r.remote_cidr.empty() && !r.remote_group.empty())
        throw PolicyError(obj, field, "give remote_cidr or remote_group, not both");
      if (!r.remote_cidr.empty()) {
        Prefix p = parse_cidr(r.remote_cidr, obj, field + ".remote_cidr");
        if (p.addr.family != r.ethertype)
          throw PolicyError(obj, field + ".remote_cidr",
                            quoted(r.remote_cidr) + " is not an " + family_name(r.ethertype) +
                                " prefix (the rule's ethertype)");
        ix.sg_remote_cidr[{sg.name, k}] = p;
      }
      if (!r.remote_group.empty())
        require(ix.security_groups, r.remote_group, obj, field + ".remote_group", "security-group");
      for (const auto& pr : r.ports) check_ports(pr, obj, field + ".ports");
    }
  }
  for (const auto& np : in.network_policies) {
    for (size_t k = 0; k < np.rules.size(); ++k) {
      const auto& r = np.rules[k];
      std::string obj = "network-policy " + np.name;
      std::string field = "rules[" + std::to_string(k) + "]";
      for (const auto* list : {&r.src_networks, &r.dst_networks}) {
        const char* which = list == &r.src_networks ? ".src_networks" : ".dst_networks";
        if (list->empty()) throw PolicyError(obj, field + which, "empty (use [any])");
        for (const auto& n : *list)
          if (n != "any") require(ix.networks, n, obj, field + which, "virtual-network");
      }
      for (const auto& pr : r.src_ports) check_all_ports(pr, obj, field + ".src_ports");
      for (const auto& pr : r.dst_ports) check_ports(pr, obj, field + ".dst_ports");
      check_mirror(r.mirror_to, r.action, obj, field + ".mirror_to");
    }
  }
  auto check_service = [](const Service& s, const std::string& obj, const std::string& field) {
    check_all_ports(s.src_ports, obj, field + ".src_ports");
    check_ports(s.dst_ports, obj, field + ".dst_ports");
  };
  for (const auto& g : in.service_groups) {
    if (g.services.empty()) throw PolicyError("service-group " + g.name, "services", "empty");
    for (size_t k = 0; k < g.services.size(); ++k)
      check_service(g.services[k], "service-group " + g.name, "services[" + std::to_string(k) + "]");
  }
  for (const auto& g : in.address_groups) {
    auto& prefixes = ix.group_prefixes[g.name];
    for (const auto& text : g.prefixes)
      prefixes.push_back(parse_cidr(text, "address-group " + g.name, "prefixes"));
  }
  for (const auto& r : in.firewall_rules) {
    std::string obj = "firewall-rule " + r.name;
    check_mirror(r.mirror_to, r.action, obj, "mirror_to");
    for (size_t k = 0; k < r.services.size(); ++k)
      check_service(r.services[k], obj, "service");
    for (const auto& g : r.service_groups)
      require(ix.service_groups, g, obj, "service_group_refs", "service-group");
    for (const auto* ep : {&r.endpoint_1, &r.endpoint_2}) {
      std::string field = ep == &r.endpoint_1 ? "endpoint_1" : "endpoint_2";
      if (ep->tags.empty() && !ep->any && ep->address_group.empty() && ep->virtual_network.empty())
        throw PolicyError(obj, field, "matches nothing: give tags, address_group, virtual_network or any: true");
      for (const auto& t : ep->tags) require(ix.tags, t, obj, field + ".tags", "tag");
      if (!ep->address_group.empty())
        require(ix.address_groups, ep->address_group, obj, field + ".address_group", "address-group");
      if (!ep->virtual_network.empty())
        require(ix.networks, ep->virtual_network, obj, field + ".virtual_network", "virtual-network");
    }
    for (const auto& type : r.match_tags)
      if (!ix.tag_types.count(type))
        throw PolicyError(obj, "match_tags", "unknown tag type " + quoted(type));
  }
  for (const auto& p : in.firewall_policies) {
    std::string obj = "firewall-policy " + p.name;
    for (const auto& ref : p.rules)
      require(ix.firewall_rules, ref.name, obj, "firewall_rule_refs", "firewall-rule");
    check_sequences(p.rules, obj, "firewall_rule_refs");
  }
  for (const auto& a : in.application_policy_sets) {
    std::string obj = "application-policy-set " + a.name;
    for (const auto& ref : a.policies)
      require(ix.firewall_policies, ref.name, obj, "firewall_policy_refs", "firewall-policy");
    check_sequences(a.policies, obj, "firewall_policy_refs");
    for (const auto& t : a.tags) {
      require(ix.tags, t, obj, "tags", "tag");
      if (ix.tag(t).type != "application")
        throw PolicyError(obj, "tags", "tag " + quoted(t) + " is of type " + ix.tag(t).type +
                                           "; an application-policy-set binds application tags");
    }
  }
}

}  // namespace

Index build_index(const PolicyInput& in) {
  Index ix;
  ix.input = &in;
  for (const char* t : kBuiltinTagTypes) ix.tag_types.insert(t);
  for (const auto& t : in.custom_tag_types) {
    if (t.empty() || t.find('=') != std::string::npos || t.find(':') != std::string::npos)
      throw PolicyError("tag-type " + quoted(t), "name", "must be non-empty without '=' or ':'");
    ix.tag_types.insert(t);
  }
  index_by_name("project", in.projects, ix.projects);
  index_by_name("virtual-network", in.networks, ix.networks);
  index_by_name("virtual-machine", in.workloads, ix.workloads);
  index_by_name("virtual-machine-interface", in.interfaces, ix.interfaces);
  index_by_name("security-group", in.security_groups, ix.security_groups);
  index_by_name("network-policy", in.network_policies, ix.network_policies);
  index_by_name("tag", in.tags, ix.tags);
  index_by_name("service-group", in.service_groups, ix.service_groups);
  index_by_name("address-group", in.address_groups, ix.address_groups);
  index_by_name("firewall-rule", in.firewall_rules, ix.firewall_rules);
  index_by_name("firewall-policy", in.firewall_policies, ix.firewall_policies);
  std::map<std::string, const ApplicationPolicySet*> aps;
  index_by_name("application-policy-set", in.application_policy_sets, aps);
  for (const auto& t : in.tags) {
    if (!ix.tag_types.count(t.type))
      throw PolicyError("tag " + t.name, "tag_type_name",
                        "unknown tag type " + quoted(t.type) +
                            " (builtin: application, tier, deployment, site, label; declare "
                            "custom types as tag-type objects)");
    if (t.value.empty()) throw PolicyError("tag " + t.name, "tag_value", "empty");
  }
  index_endpoints(ix, in);
  index_rules(ix, in);
  assign_vrfs(ix, in);
  return ix;
}

}  // namespace detail
}  // namespace vrfabric::policy
