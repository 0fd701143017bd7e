#pragma once
// Small helpers to build inputs and ask compiled tables about packets.
#include "vrfabric/policy/compiler.h"

namespace fx {
using namespace vrfabric::policy;

inline constexpr uint8_t TCP = 6, UDP = 17, ICMP = 1;

inline Address ip(const char* text) { return *parse_address(text); }

// The compiled verdict for a first packet, through the datapath-equivalent lookups.
inline Action verdict(const CompiledPolicy& c, const std::string& network, const char* src, const char* dst,
                      uint8_t proto, int port) {
  return evaluate(c, c.vrfs.at(network), ip(src), ip(dst), proto, static_cast<uint16_t>(port)).action;
}
inline std::string why(const CompiledPolicy& c, const std::string& network, const char* src, const char* dst,
                       uint8_t proto, int port) {
  auto d = evaluate(c, c.vrfs.at(network), ip(src), ip(dst), proto, static_cast<uint16_t>(port));
  return c.rule_descriptions.at(d.rule_id);
}

// The group of an interface's n-th address.
inline uint32_t epg_of(const CompiledPolicy& c, const std::string& interface, size_t n = 0) {
  for (const auto& i : c.interfaces)
    if (i.interface == interface) return i.addresses.at(n).second;
  throw std::runtime_error("no interface " + interface);
}

inline Interface vmi(const std::string& name, const std::string& net, std::vector<std::string> addrs,
                     std::vector<std::string> sgs = {}, std::vector<std::string> tags = {}) {
  return {.name = name, .network = net, .workload = "", .project = "", .addresses = std::move(addrs), .tags = std::move(tags),
          .security_groups = std::move(sgs)};
}

inline SecurityGroupRule sg_rule(SgDirection dir, uint8_t proto, std::vector<PortRange> ports = {},
                                 std::string cidr = "", std::string group = "", Family f = Family::V4) {
  return {.direction = dir, .ethertype = f, .protocol = proto, .remote_cidr = std::move(cidr),
          .remote_group = std::move(group), .ports = std::move(ports)};
}

inline NetworkPolicyRule np_rule(std::string src, std::string dst, Action a, uint8_t proto = kAnyProtocol,
                                 std::vector<PortRange> ports = {}, Direction d = Direction::Forward) {
  return {.direction = d, .protocol = proto, .src_networks = {std::move(src)}, .dst_networks = {std::move(dst)}, .src_ports = {},
          .dst_ports = std::move(ports), .action = a, .mirror_to = {}};
}

// A firewall rule from endpoint tags (no tags: any) over optional services.
inline FirewallRule fw_rule(std::string name, std::vector<std::string> from, std::vector<std::string> to,
                            Action action = Action::Pass, std::vector<Service> services = {}) {
  FirewallRule r;
  r.name = std::move(name);
  r.action = action;
  r.endpoint_1.any = from.empty();
  r.endpoint_1.tags = std::move(from);
  r.endpoint_2.any = to.empty();
  r.endpoint_2.tags = std::move(to);
  r.services = std::move(services);
  return r;
}

// One firewall policy "p:fp" holding `rules` (sequence = position) in one application policy
// set "p:aps", bound to `app_tags`, or global when there are none.
inline void with_firewall(PolicyInput& in, std::vector<FirewallRule> rules, std::vector<std::string> app_tags = {}) {
  FirewallPolicy fp{"p:fp", {}};
  for (size_t k = 0; k < rules.size(); ++k) fp.rules.push_back({rules[k].name, double(k + 1)});
  in.firewall_rules = std::move(rules);
  in.firewall_policies = {fp};
  bool global = app_tags.empty();
  in.application_policy_sets = {{"p:aps", global, std::move(app_tags), {{"p:fp", 1}}}};
}

// The message compile() (or whatever `f` runs) rejects the input with, or "(no error)".
template <class F>
std::string rejection_of(F f) {
  try {
    f();
  } catch (const PolicyError& e) {
    return e.what();
  }
  return "(no error)";
}

// Two networks, each with an interface; nothing else.
inline PolicyInput two_networks() {
  PolicyInput in;
  in.networks = {{"p:red", "", 0, {}, {}}, {"p:blue", "", 0, {}, {}}};
  in.interfaces = {vmi("p:r1", "p:red", {"10.1.0.1", "fd00:1::1"}), vmi("p:r2", "p:red", {"10.1.0.2", "fd00:1::2"}),
                   vmi("p:b1", "p:blue", {"10.2.0.1", "fd00:2::1"})};
  return in;
}

}  // namespace fx
