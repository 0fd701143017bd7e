// Brute-force equivalence: random configurations of every policy kind, compiled, then many
// random packets evaluated through the compiled tables (as the datapath would) and by the
// naive oracle. Any disagreement prints the seed and the packet.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "oracle.h"

using namespace vrfabric::policy;

namespace {

struct Gen {
  std::mt19937 rng;
  explicit Gen(unsigned seed) : rng(seed) {}
  int num(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool coin(int percent = 50) { return num(1, 100) <= percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[num(0, static_cast<int>(v.size()) - 1)]; }

  uint8_t proto() { return pick(std::vector<uint8_t>{kAnyProtocol, kAnyProtocol, 6, 6, 17, 1}); }
  PortRange ports() {
    static const std::vector<int> points = {0, 22, 53, 80, 443, 1000, 1023, 1024, 8080, 8443, 65535};
    int a = pick(points) + (coin(30) ? num(0, 5) : 0), b = pick(points);
    a = std::min(a, 65535);
    return a <= b ? PortRange{a, b} : PortRange{b, a};
  }
  std::vector<PortRange> port_list() {
    std::vector<PortRange> v;
    if (coin(30)) return v;
    for (int n = num(1, 2); n > 0; --n) v.push_back(ports());
    return v;
  }
  std::string v4_cidr() {
    return pick(std::vector<std::string>{"10.0.0.0/16", "10.0.0.0/22", "10.0.1.0/24", "10.0.1.8/29",
                                         "10.0.2.0/23", "10.0.3.16/28", "10.0.0.5/32", "192.168.0.0/16",
                                         "0.0.0.0/0"});
  }
  std::string v6_cidr() {
    return pick(std::vector<std::string>{"fd00::/16", "fd00:0:1::/48", "fd00:0:1::/64", "fd00:0:2::/47", "::/0"});
  }
};

PolicyInput random_input(Gen& g) {
  PolicyInput in;
  in.custom_tag_types = {"instance"};
  std::vector<std::pair<std::string, std::vector<std::string>>> values = {
      {"application", {"a1", "a2"}}, {"tier", {"t1", "t2", "t3"}}, {"deployment", {"d1", "d2"}},
      {"site", {"s1"}}, {"label", {"l1", "l2"}}, {"instance", {"i1", "i2"}}};
  std::vector<std::string> tag_names;
  for (const auto& [type, vals] : values)
    for (const auto& v : vals) {
      in.tags.push_back({type + "=" + v, type, v});
      tag_names.push_back(type + "=" + v);
    }
  // A set of tags with at most one per type (labels excepted), as validation demands.
  auto tags = [&](int max) {
    std::vector<std::string> out;
    std::set<std::string> types;
    for (int n = g.num(0, max); n > 0; --n) {
      const auto& t = g.pick(tag_names);
      std::string type = t.substr(0, t.find('='));
      if ((type != "label" && types.count(type)) || std::find(out.begin(), out.end(), t) != out.end()) continue;
      types.insert(type);
      out.push_back(t);
    }
    return out;
  };
  in.projects.push_back({"p", tags(2)});
  std::vector<std::string> nets = {"p:red", "p:blue", "p:green"};
  for (int i = 0; i < 2; ++i) {
    NetworkPolicy np{"p:np" + std::to_string(i), {}};
    for (int n = g.num(1, 3); n > 0; --n) {
      NetworkPolicyRule r;
      r.direction = g.coin() ? Direction::Forward : Direction::Both;
      r.protocol = g.proto();
      std::vector<std::string> choices = nets;
      choices.push_back("any");
      r.src_networks = {g.pick(choices)};
      r.dst_networks = {g.pick(choices)};
      r.dst_ports = g.port_list();
      r.action = g.coin(75) ? Action::Pass : Action::Deny;
      np.rules.push_back(r);
    }
    in.network_policies.push_back(np);
  }
  for (size_t i = 0; i < nets.size(); ++i) {
    Network n{nets[i], "", static_cast<uint32_t>(i + 1), tags(2), {}};
    for (int k = 0; k < 2; ++k)
      if (g.coin(60)) n.policies.push_back({"p:np" + std::to_string(k), static_cast<double>(g.num(0, 3))});
    in.networks.push_back(n);
  }
  for (int i = 0; i < 3; ++i) {
    SecurityGroup sg{"p:sg" + std::to_string(i), {}};
    for (int n = g.num(0, 4); n > 0; --n) {
      SecurityGroupRule r;
      r.direction = g.coin() ? SgDirection::Ingress : SgDirection::Egress;
      r.ethertype = g.coin(75) ? Family::V4 : Family::V6;
      r.protocol = g.proto();
      int remote = g.num(0, 2);
      if (remote == 1) r.remote_cidr = r.ethertype == Family::V4 ? g.v4_cidr() : g.v6_cidr();
      if (remote == 2) r.remote_group = "p:sg" + std::to_string(g.num(0, 2));
      r.ports = g.port_list();
      sg.rules.push_back(r);
    }
    in.security_groups.push_back(sg);
  }
  in.address_groups.push_back({"p:ag0", {g.v4_cidr(), g.v6_cidr()}});
  in.address_groups.push_back({"p:ag1", {g.v4_cidr()}});
  in.service_groups.push_back({"p:svc0", {{6, {}, g.ports()}, {17, {}, g.ports()}}});
  in.service_groups.push_back({"p:svc1", {{g.proto(), {}, g.ports()}}});
  for (int i = 0; i < 3; ++i) in.workloads.push_back({"p:vm" + std::to_string(i), tags(2)});
  auto endpoint = [&]() {
    FirewallEndpoint e;
    switch (g.num(0, 4)) {
      case 0: e.any = true; break;
      case 1: e.address_group = g.coin() ? "p:ag0" : "p:ag1"; break;
      case 2: e.virtual_network = g.pick(nets); break;
      default: e.tags = tags(2); if (e.tags.empty()) e.any = true;
    }
    return e;
  };
  for (int i = 0; i < 6; ++i) {
    FirewallRule r;
    r.name = "p:fr" + std::to_string(i);
    r.action = g.coin(70) ? Action::Pass : Action::Deny;
    r.direction = g.pick(std::vector<Direction>{Direction::Forward, Direction::Reverse, Direction::Both});
    if (g.coin(40)) r.services.push_back({g.proto(), {}, g.ports()});
    if (g.coin(40)) r.service_groups.push_back(g.coin() ? "p:svc0" : "p:svc1");
    r.endpoint_1 = endpoint();
    r.endpoint_2 = endpoint();
    if (g.coin(30)) r.match_tags = {g.pick(std::vector<std::string>{"deployment", "site", "label", "instance"})};
    in.firewall_rules.push_back(r);
  }
  for (int i = 0; i < 2; ++i) {
    FirewallPolicy p{"p:fp" + std::to_string(i), {}};
    for (int k = 0; k < 6; ++k)
      if (g.coin(50)) p.rules.push_back({"p:fr" + std::to_string(k), static_cast<double>(k * 7 % 6)});
    in.firewall_policies.push_back(p);
  }
  in.application_policy_sets.push_back({"p:aps-a1", false, {"application=a1"}, {{"p:fp0", 1}, {"p:fp1", 2}}});
  if (g.coin(30)) in.application_policy_sets.push_back({"p:aps-global", true, {}, {{"p:fp1", 1}}});
  // Interfaces with globally unique addresses in the small space the CIDRs above carve up.
  int host = 1;
  for (int i = 0; i < 8; ++i) {
    Interface itf;
    itf.name = "p:vmi" + std::to_string(i);
    itf.network = g.pick(nets);
    if (g.coin(70)) itf.workload = "p:vm" + std::to_string(g.num(0, 2));
    itf.tags = tags(2);
    for (int k = 0; k < 3; ++k)
      if (g.coin(35)) itf.security_groups.push_back("p:sg" + std::to_string(k));
    host += g.num(1, 40);
    itf.addresses.push_back("10.0." + std::to_string(host / 256 % 4) + "." + std::to_string(host % 256));
    if (g.coin(50)) itf.addresses.push_back("fd00:0:" + std::to_string(g.num(1, 3)) + "::" + std::to_string(host));
    in.interfaces.push_back(itf);
  }
  return in;
}

Address random_address(Gen& g, const PolicyInput& in) {
  if (g.coin(60)) {
    const auto& itf = g.pick(in.interfaces);
    return parse_prefix(g.pick(itf.addresses))->addr;
  }
  if (g.coin(70)) {
    std::string a = "10.0." + std::to_string(g.num(0, 3)) + "." + std::to_string(g.num(0, 255));
    return *parse_address(g.coin(80) ? a : "192.168.3." + std::to_string(g.num(0, 255)));
  }
  return *parse_address(g.pick(std::vector<std::string>{"fd00:0:1::7", "fd00:0:2::1", "fd00:9::1", "2001:db8::1", "8.8.8.8"}));
}

}  // namespace

TEST_CASE("compiled tables decide exactly like a direct interpretation of the policies") {
  size_t packets = 0, passes = 0, configs = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    Gen g(seed);
    PolicyInput in = random_input(g);
    CompiledPolicy c = compile(in);
    oracle::Oracle o(in);
    ++configs;
    for (int n = 0; n < 400; ++n) {
      uint32_t vrf = static_cast<uint32_t>(g.num(1, 3));
      Address src = random_address(g, in), dst = random_address(g, in);
      if (src.family != dst.family) dst = src.family == Family::V4 ? *parse_address("10.0.1.9") : *parse_address("fd00:0:1::9");
      uint8_t proto = g.pick(std::vector<uint8_t>{6, 17, 1, 47});
      int port = g.coin(70) ? g.pick(std::vector<int>{0, 22, 23, 53, 79, 80, 81, 443, 1023, 1024, 8080, 65535})
                            : g.num(0, 65535);
      Decision d = evaluate(c, vrf, src, dst, proto, static_cast<uint16_t>(port));
      Action expected = o.decide(vrf, src, dst, proto, port);
      INFO("seed " << seed << " vrf " << vrf << " " << to_string(src) << " -> " << to_string(dst) << " proto "
                   << int(proto) << " port " << port << " epgs " << d.src_epg << "->" << d.dst_epg << " rule "
                   << c.rule_descriptions.at(d.rule_id));
      REQUIRE(d.action == expected);
      CHECK(c.rule_descriptions.count(d.rule_id) == 1);
      ++packets;
      passes += d.action == Action::Pass;
    }
  }
  MESSAGE(configs << " configurations, " << packets << " packets, " << passes << " passed");
  CHECK(passes > packets / 20);          // the generator exercises both outcomes,
  CHECK(passes < packets - packets / 20);  // so agreement is not trivial
}
