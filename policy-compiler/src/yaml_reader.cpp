#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>

#include "index.h"
#include "vrfabric/policy/yaml.h"

namespace vrfabric::policy {
namespace {

using detail::parent_of;

// One YAML map being read as an object: remembers which keys were used so that unknown
// (typically misspelt) fields are reported instead of silently ignored.
class Obj {
 public:
  Obj(const YAML::Node& node, std::string name, bool strict = true)
      : node_(node), name_(std::move(name)), strict_(strict) {
    if (!node_.IsMap()) fail("", "expected a map");
  }
  // A nested map of this object, read as strictly as its owner.
  Obj child(const YAML::Node& node) const { return Obj(node, name_, strict_); }
  [[noreturn]] void fail(const std::string& field, const std::string& msg) const {
    fail_at(field, msg, node_.Mark());
  }
  [[noreturn]] void fail_at(const std::string& field, const std::string& msg, const YAML::Mark& mark) const {
    throw PolicyError(name_, field, msg + " (line " + std::to_string(mark.line + 1) + ")");
  }
  YAML::Node get(const std::string& key) {
    used_.insert(key);
    return node_[key];
  }
  std::string str(const std::string& key, bool required = false) {
    auto n = get(key);
    if (!n) {
      if (required) fail(key, "missing");
      return {};
    }
    if (!n.IsScalar()) fail(key, "expected a string");
    return n.as<std::string>();
  }
  bool boolean(const std::string& key) {
    auto n = get(key);
    if (!n) return false;
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(key, "expected true or false");
    }
  }
  std::vector<std::string> strings(const std::string& key) {
    std::vector<std::string> out;
    auto n = get(key);
    if (!n) return out;
    if (!n.IsSequence()) fail(key, "expected a list");
    for (const auto& item : n) {
      if (!item.IsScalar()) fail(key, "expected a list of strings");
      out.push_back(item.as<std::string>());
    }
    return out;
  }
  template <class F>
  void each(const std::string& key, F f) {
    auto n = get(key);
    if (!n) return;
    if (!n.IsSequence()) fail(key, "expected a list");
    size_t i = 0;
    for (const auto& item : n) f(child(item), key + "[" + std::to_string(i++) + "]");
  }
  // Refs: [{to: fq_name, attr: {sequence: "1.0"}}]
  std::vector<SequencedRef> refs(const std::string& key) {
    std::vector<SequencedRef> out;
    each(key, [&](Obj ref, const std::string& field) {
      SequencedRef r{ref.str("to", true), static_cast<double>(out.size())};
      ref.get("uuid");
      if (auto attr = ref.get("attr"); attr && attr.IsMap() && attr["sequence"]) {
        auto text = attr["sequence"].as<std::string>();
        try {
          size_t used = 0;
          r.sequence = std::stod(text, &used);
          if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
          fail(field + ".attr.sequence", "not a number: \"" + text + "\"");
        }
      }
      ref.done();
      out.push_back(r);
    });
    return out;
  }
  std::vector<std::string> ref_names(const std::string& key) {
    std::vector<std::string> out;
    for (auto& r : refs(key)) out.push_back(r.name);
    return out;
  }
  void done() const {
    if (!strict_) return;
    for (const auto& kv : node_) {
      auto key = kv.first.as<std::string>();
      if (!used_.count(key)) fail_at(key, "unknown field", kv.first.Mark());
    }
  }
  const std::string& name() const { return name_; }
  void rename(std::string name) { name_ = std::move(name); }

 private:
  YAML::Node node_;
  std::string name_;
  std::set<std::string> used_;
  bool strict_;
};

template <class E>
E choose(Obj& o, const std::string& key, const std::vector<std::pair<std::string, E>>& options,
         bool required = true) {
  std::string v = o.str(key, required);
  if (v.empty() && !required) return options.front().second;
  std::string names;
  for (const auto& [text, value] : options) {
    if (v == text) return value;
    names += (names.empty() ? "" : ", ") + text;
  }
  o.fail(key, "\"" + v + "\" is not one of " + names);
}

uint8_t protocol(Obj& o, const std::string& key) {
  std::string v = o.str(key, true);
  auto p = parse_protocol(v);
  if (!p) o.fail(key, "unknown protocol \"" + v + "\" (any, tcp, udp, icmp, icmp6 or 1-255)");
  return *p;
}

int integer(Obj& o, const std::string& key) {
  auto n = o.get(key);
  if (!n) o.fail(key, "missing");
  try {
    return n.as<int>();
  } catch (const YAML::Exception&) {
    o.fail(key, "expected an integer");
  }
}

PortRange port_range(Obj o) {
  PortRange r{integer(o, "start_port"), integer(o, "end_port")};
  o.done();
  return r;
}

std::vector<PortRange> port_ranges(Obj& o, const std::string& key) {
  std::vector<PortRange> out;
  o.each(key, [&](Obj r, const std::string&) { out.push_back(port_range(r)); });
  return out;
}

const std::vector<std::pair<std::string, Direction>> kDirections = {
    {">", Direction::Forward}, {"<", Direction::Reverse}, {"<>", Direction::Both}};
const std::vector<std::pair<std::string, Action>> kActions = {{"pass", Action::Pass}, {"deny", Action::Deny}};

Service service(Obj o) {
  Service s;
  s.protocol = protocol(o, "protocol");
  if (o.get("src_ports")) s.src_ports = port_range(o.child(o.get("src_ports")));
  if (o.get("dst_ports")) s.dst_ports = port_range(o.child(o.get("dst_ports")));
  o.done();
  return s;
}

FirewallEndpoint endpoint(Obj o) {
  FirewallEndpoint e;
  e.tags = o.strings("tags");
  e.any = o.boolean("any");
  e.address_group = o.str("address_group");
  e.virtual_network = o.str("virtual_network");
  o.done();
  return e;
}

class Reader {
 public:
  void object(const std::string& kind, Obj& o) {
    std::string name = o.str("fq_name", true);
    o.rename(kind + " " + name);  // errors from here on name the object
    o.get("kind");
    o.get("fq_name");
    o.get("uuid");
    o.get("display_name");
    o.get("description");
    auto it = handlers_.find(kind);
    if (it == handlers_.end()) {
      if (!kIgnored.count(kind)) o.fail("kind", "unknown kind \"" + kind + "\"");
      return;  // known to the controller, irrelevant to policy
    }
    it->second(o, name);
    o.done();
  }

  PolicyInput finish() {
    for (const auto& [itf, addr] : instance_ips_) {
      auto i = std::find_if(in_.interfaces.begin(), in_.interfaces.end(),
                            [&](const Interface& x) { return x.name == itf; });
      if (i == in_.interfaces.end())
        throw PolicyError("instance-ip " + addr.first, "virtual_machine_interface_refs",
                          "unknown virtual-machine-interface \"" + itf + "\"");
      i->addresses.push_back(addr.second);
    }
    resolve_tags();
    return std::move(in_);
  }

 private:
  static inline const std::set<std::string> kIgnored = {
      "domain", "network-ipam", "global-system-config", "floating-ip-pool", "floating-ip", "bgp-router"};

  // TYPE=VALUE -> the project's tag of that name, else the global one; fq_names pass through.
  std::string resolve(const std::string& ref, const std::string& owner) const {
    if (ref.find(':') != std::string::npos) return ref;
    for (std::string scope = parent_of(owner); ; scope = parent_of(scope)) {
      std::string candidate = scope.empty() ? ref : scope + ":" + ref;
      if (tag_names_.count(candidate)) return candidate;
      if (scope.empty()) return ref;  // unknown: compile() reports it against the owner
    }
  }
  void resolve_all(std::vector<std::string>& refs, const std::string& owner) const {
    for (auto& r : refs) r = resolve(r, owner);
  }
  void resolve_tags() {
    for (const auto& t : in_.tags) tag_names_.insert(t.name);
    for (auto& o : in_.projects) resolve_all(o.tags, o.name + ":x");
    for (auto& o : in_.networks) resolve_all(o.tags, o.name);
    for (auto& o : in_.workloads) resolve_all(o.tags, o.name);
    for (auto& o : in_.interfaces) resolve_all(o.tags, o.name);
    for (auto& o : in_.application_policy_sets) resolve_all(o.tags, o.name);
    for (auto& o : in_.firewall_rules) {
      resolve_all(o.endpoint_1.tags, o.name);
      resolve_all(o.endpoint_2.tags, o.name);
    }
  }

  using Handler = std::function<void(Obj&, const std::string&)>;
  PolicyInput in_;
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> instance_ips_;
  std::set<std::string> tag_names_;
  const std::map<std::string, Handler> handlers_ = {
      {"project", [this](Obj& o, const std::string& n) { in_.projects.push_back({n, o.ref_names("tag_refs")}); }},
      {"tag-type", [this](Obj& o, const std::string& n) { in_.custom_tag_types.push_back(detail::short_name(n)); }},
      {"tag", [this](Obj& o, const std::string& n) {
         in_.tags.push_back({n, o.str("tag_type_name", true), o.str("tag_value", true)});
         o.get("tag_id");
       }},
      {"virtual-network", [this](Obj& o, const std::string& n) {
         Network net{n, {}, 0, o.ref_names("tag_refs"), o.refs("network_policy_refs")};
         if (o.get("vrf")) net.vrf = static_cast<uint32_t>(integer(o, "vrf"));
         for (const char* k : {"network_ipam_refs", "vni", "route_target_list", "forwarding_mode", "is_shared",
                               "router_external"})
           o.get(k);
         in_.networks.push_back(std::move(net));
       }},
      {"virtual-machine", [this](Obj& o, const std::string& n) {
         o.get("server_type");
         in_.workloads.push_back({n, o.ref_names("tag_refs")});
       }},
      {"virtual-machine-interface", [this](Obj& o, const std::string& n) {
         Interface i;
         i.name = n;
         auto nets = o.ref_names("virtual_network_refs");
         if (nets.size() != 1) o.fail("virtual_network_refs", "needs exactly one virtual-network");
         i.network = nets.front();
         auto vms = o.ref_names("virtual_machine_refs");
         if (vms.size() > 1) o.fail("virtual_machine_refs", "at most one virtual-machine");
         if (!vms.empty()) i.workload = vms.front();
         i.security_groups = o.ref_names("security_group_refs");
         i.tags = o.ref_names("tag_refs");
         for (const char* k : {"mac_address", "host_id", "device_owner", "port_security_enabled", "disable_policy"})
           o.get(k);
         o.each("virtual_machine_interface_allowed_address_pairs", [&](Obj pair, const std::string& field) {
           Obj ip = pair.child(pair.get("ip"));
           i.allowed_pairs.push_back(ip.str("ip_prefix", true) + "/" + ip.str("ip_prefix_len", true));
           pair.get("mac");
           pair.get("address_mode");
           (void)field;
         });
         in_.interfaces.push_back(std::move(i));
       }},
      {"instance-ip", [this](Obj& o, const std::string& n) {
         std::string addr = o.str("instance_ip_address", true);
         for (const char* k : {"instance_ip_family", "subnet_uuid", "instance_ip_secondary", "virtual_network_refs"})
           o.get(k);
         for (const auto& itf : o.ref_names("virtual_machine_interface_refs"))
           instance_ips_.push_back({itf, {n, addr}});
       }},
      {"security-group", [this](Obj& o, const std::string& n) {
         SecurityGroup sg{n, {}};
         o.each("rules", [&](Obj r, const std::string&) {
           SecurityGroupRule rule;
           rule.direction = choose<SgDirection>(r, "direction", {{"ingress", SgDirection::Ingress}, {"egress", SgDirection::Egress}});
           rule.ethertype = choose<Family>(r, "ethertype", {{"IPv4", Family::V4}, {"IPv6", Family::V6}});
           rule.protocol = protocol(r, "protocol");
           rule.remote_cidr = r.str("remote_cidr");
           rule.remote_group = r.str("remote_group");
           rule.ports = port_ranges(r, "ports");
           r.done();
           sg.rules.push_back(std::move(rule));
         });
         in_.security_groups.push_back(std::move(sg));
       }},
      {"network-policy", [this](Obj& o, const std::string& n) {
         NetworkPolicy np{n, {}};
         o.each("rules", [&](Obj r, const std::string&) {
           NetworkPolicyRule rule;
           rule.direction = choose(r, "direction", kDirections);
           rule.protocol = protocol(r, "protocol");
           rule.src_networks = r.strings("src_networks");
           rule.dst_networks = r.strings("dst_networks");
           rule.src_ports = port_ranges(r, "src_ports");
           rule.dst_ports = port_ranges(r, "dst_ports");
           rule.action = choose(r, "action", kActions);
           rule.mirror_to = r.str("mirror_to");
           r.done();
           np.rules.push_back(std::move(rule));
         });
         in_.network_policies.push_back(std::move(np));
       }},
      {"service-group", [this](Obj& o, const std::string& n) {
         ServiceGroup g{n, {}};
         o.each("services", [&](Obj s, const std::string&) { g.services.push_back(service(s)); });
         in_.service_groups.push_back(std::move(g));
       }},
      {"address-group", [this](Obj& o, const std::string& n) {
         o.get("tag_refs");
         in_.address_groups.push_back({n, o.strings("prefixes")});
       }},
      {"firewall-rule", [this](Obj& o, const std::string& n) {
         FirewallRule r;
         r.name = n;
         r.action = choose(o, "action", kActions);
         r.direction = choose(o, "direction", kDirections);
         if (o.get("service")) r.services.push_back(service(o.child(o.get("service"))));
         r.service_groups = o.ref_names("service_group_refs");
         o.get("address_group_refs");  // informational: endpoints name their address groups
         if (!o.get("endpoint_1")) o.fail("endpoint_1", "missing");
         if (!o.get("endpoint_2")) o.fail("endpoint_2", "missing");
         r.endpoint_1 = endpoint(o.child(o.get("endpoint_1")));
         r.endpoint_2 = endpoint(o.child(o.get("endpoint_2")));
         r.match_tags = o.strings("match_tags");
         r.mirror_to = o.str("mirror_to");
         in_.firewall_rules.push_back(std::move(r));
       }},
      {"firewall-policy", [this](Obj& o, const std::string& n) {
         in_.firewall_policies.push_back({n, o.refs("firewall_rule_refs")});
       }},
      {"application-policy-set", [this](Obj& o, const std::string& n) {
         in_.application_policy_sets.push_back(
             {n, o.boolean("all_applications"), o.ref_names("tag_refs"), o.refs("firewall_policy_refs")});
       }},
  };
};

}  // namespace

PolicyInput read_policy_yaml(const std::string& text, const ReadOptions& opts) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw PolicyError("YAML", "line " + std::to_string(e.mark.line + 1), e.msg);
  }
  Reader reader;
  for (size_t d = 0; d < docs.size(); ++d) {
    const auto& doc = docs[d];
    std::string where = "document " + std::to_string(d + 1);
    if (doc.IsNull()) continue;
    if (!doc.IsMap()) throw PolicyError(where, "", "expected a map");
    if (doc["kind"]) {
      Obj o(doc, where, opts.strict_fields);
      reader.object(o.str("kind"), o);
      continue;
    }
    // Compact form: plural kind -> list of objects ("virtual-networks" -> "virtual-network").
    for (const auto& kv : doc) {
      std::string plural = kv.first.as<std::string>();
      std::string kind = plural;
      if (kind.ends_with("ies")) kind = kind.substr(0, kind.size() - 3) + "y";
      else if (kind.ends_with("s")) kind.pop_back();
      if (!kv.second.IsSequence()) throw PolicyError(where, plural, "expected a list of objects");
      for (const auto& item : kv.second) {
        Obj o(item, where + " " + plural, opts.strict_fields);
        reader.object(kind, o);
      }
    }
  }
  return reader.finish();
}

}  // namespace vrfabric::policy
