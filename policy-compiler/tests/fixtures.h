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
  Interface i;
  i.name = name;
  i.network = net;
  i.addresses = std::move(addrs);
  i.security_groups = std::move(sgs);
  i.tags = std::move(tags);
  return i;
}

inline SecurityGroupRule sg_rule(SgDirection dir, uint8_t proto, std::vector<PortRange> ports = {},
                                 std::string cidr = "", std::string group = "", Family f = Family::V4) {
  SecurityGroupRule r;
  r.direction = dir;
  r.ethertype = f;
  r.protocol = proto;
  r.ports = std::move(ports);
  r.remote_cidr = std::move(cidr);
  r.remote_group = std::move(group);
  return r;
}

inline NetworkPolicyRule np_rule(std::string src, std::string dst, Action a, uint8_t proto = kAnyProtocol,
                                 std::vector<PortRange> ports = {}, Direction d = Direction::Forward) {
  NetworkPolicyRule r;
  r.src_networks = {std::move(src)};
  r.dst_networks = {std::move(dst)};
  r.action = a;
  r.protocol = proto;
  r.dst_ports = std::move(ports);
  r.direction = d;
  return r;
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
