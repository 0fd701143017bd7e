// Compile-time benchmark: synthetic tenants with about 10, 1k and 10k configured rules
// (half firewall rules over tags, 40% security-group rules, 10% network-policy rules).
// Prints compile time and table sizes; not a test (no pass/fail).
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "vrfabric/policy/abi.h"
#include "vrfabric/policy/compiler.h"

using namespace vrfabric::policy;

namespace {

struct Shape {
  int rules, tiers, interfaces, networks;
};

PolicyInput synthesize(const Shape& s, std::mt19937& rng) {
  auto num = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto ports = [&] {
    int lo = num(0, 64) * 1000 + num(0, 3) * 10;
    return PortRange{lo, std::min(65535, lo + num(0, 2000))};
  };
  PolicyInput in;
  int fw = s.rules / 2, sg_rules = s.rules * 4 / 10, np_rules = s.rules - fw - sg_rules;
  const int apps = 4;
  for (int a = 0; a < apps; ++a) in.tags.push_back({"application=a" + std::to_string(a), "application", "a" + std::to_string(a)});
  for (int t = 0; t < s.tiers; ++t) in.tags.push_back({"tier=t" + std::to_string(t), "tier", "t" + std::to_string(t)});
  for (const char* d : {"dev", "prod"}) in.tags.push_back({std::string("deployment=") + d, "deployment", d});

  // Networks joined by one any<>any policy, plus specific rules in front of it.
  NetworkPolicy base{"t:all", {}};
  NetworkPolicyRule any;
  any.direction = Direction::Both;
  any.src_networks = any.dst_networks = {"any"};
  base.rules.push_back(any);
  NetworkPolicy specific{"t:specific", {}};
  for (int i = 0; i < np_rules; ++i) {
    NetworkPolicyRule r;
    r.src_networks = {"t:n" + std::to_string(num(0, s.networks - 1))};
    r.dst_networks = {"t:n" + std::to_string(num(0, s.networks - 1))};
    r.protocol = num(0, 1) ? 6 : 17;
    r.dst_ports = {ports()};
    r.action = num(0, 3) ? Action::Pass : Action::Deny;
    specific.rules.push_back(r);
  }
  in.network_policies = {specific, base};
  for (int n = 0; n < s.networks; ++n)
    in.networks.push_back({"t:n" + std::to_string(n), "", 0, {}, {{"t:specific", 1}, {"t:all", 2}}});

  int sgs = std::max(1, sg_rules / 20);
  for (int g = 0; g < sgs; ++g) in.security_groups.push_back({"t:sg" + std::to_string(g), {}});
  for (int i = 0; i < sg_rules; ++i) {
    SecurityGroupRule r;
    r.direction = num(0, 1) ? SgDirection::Ingress : SgDirection::Egress;
    r.protocol = num(0, 3) ? 6 : 0;
    if (num(0, 1)) r.remote_cidr = "172." + std::to_string(16 + num(0, 15)) + "." + std::to_string(num(0, 63) * 4) + ".0/22";
    else r.remote_group = "t:sg" + std::to_string(num(0, sgs - 1));
    r.ports = {ports()};
    in.security_groups[i % sgs].rules.push_back(r);
  }

  FirewallPolicy policy{"t:fp", {}};
  for (int i = 0; i < fw; ++i) {
    FirewallRule r;
    r.name = "t:fr" + std::to_string(i);
    r.action = num(0, 4) ? Action::Pass : Action::Deny;
    r.endpoint_1.tags = {"tier=t" + std::to_string(num(0, s.tiers - 1))};
    r.endpoint_2.tags = {"tier=t" + std::to_string(num(0, s.tiers - 1))};
    r.services = {{6, {}, ports()}};
    if (num(0, 1)) r.match_tags = {"deployment"};
    in.firewall_rules.push_back(r);
    policy.rules.push_back({r.name, static_cast<double>(i)});
  }
  in.firewall_policies = {policy};
  for (int a = 0; a < apps; ++a)
    in.application_policy_sets.push_back({"t:aps" + std::to_string(a), false, {"application=a" + std::to_string(a)}, {{"t:fp", 1}}});

  for (int i = 0; i < s.interfaces; ++i) {
    Interface itf;
    itf.name = "t:vmi" + std::to_string(i);
    itf.network = "t:n" + std::to_string(i % s.networks);
    itf.tags = {"application=a" + std::to_string(i % apps), "tier=t" + std::to_string(i % s.tiers),
                i % 2 ? "deployment=dev" : "deployment=prod"};
    if (i % 3 == 0) itf.security_groups = {"t:sg" + std::to_string(num(0, sgs - 1))};
    itf.addresses = {"10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256)};
    in.interfaces.push_back(itf);
  }
  return in;
}

}  // namespace

int main() {
  std::printf("%7s %6s %6s %6s %10s %10s %12s %12s %10s\n", "rules", "vmis", "tiers", "epgs", "epg-lpm",
              "rule-lpm", "compile-ms", "abi-ms", "rule-ids");
  for (Shape s : {Shape{10, 3, 12, 2}, Shape{1000, 20, 200, 4}, Shape{10000, 60, 600, 8}}) {
    std::mt19937 rng(42);
    PolicyInput in = synthesize(s, rng);
    auto t0 = std::chrono::steady_clock::now();
    CompiledPolicy c = compile(in);
    auto t1 = std::chrono::steady_clock::now();
    AbiTables abi = to_abi(c);
    auto t2 = std::chrono::steady_clock::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::printf("%7d %6d %6d %6zu %10zu %10zu %12.1f %12.1f %10zu\n", s.rules, s.interfaces, s.tiers, c.epgs.size(),
                abi.epg4.size() + abi.epg6.size(), abi.rules.size(), ms(t1 - t0), ms(t2 - t1),
                c.rule_descriptions.size());
  }
  return 0;
}
