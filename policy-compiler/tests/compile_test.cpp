#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "fixtures.h"
#include "vrfabric/policy/abi.h"

using namespace fx;

TEST_CASE("security group with remote CIDR: nested CIDRs get disjoint groups with combined memberships") {
  PolicyInput in = two_networks();
  in.security_groups = {{"p:web", {sg_rule(SgDirection::Ingress, TCP, {{80, 80}}, "10.0.0.0/8"),
                                   sg_rule(SgDirection::Ingress, TCP, {{22, 22}}, "10.9.0.0/16"),
                                   sg_rule(SgDirection::Egress, kAnyProtocol, {}, "0.0.0.0/0")}}};
  in.interfaces[0].security_groups = {"p:web"};
  auto c = compile(in);
  const char* red = "p:red";
  // 10.9.1.1 is in both CIDRs; 10.5.0.1 in the /8 only; 192.0.2.1 in neither.
  CHECK(verdict(c, red, "10.9.1.1", "10.1.0.1", TCP, 80) == Action::Pass);
  CHECK(verdict(c, red, "10.9.1.1", "10.1.0.1", TCP, 22) == Action::Pass);
  CHECK(verdict(c, red, "10.5.0.1", "10.1.0.1", TCP, 80) == Action::Pass);
  CHECK(verdict(c, red, "10.5.0.1", "10.1.0.1", TCP, 22) == Action::Deny);
  CHECK(verdict(c, red, "192.0.2.1", "10.1.0.1", TCP, 80) == Action::Deny);
  CHECK(verdict(c, red, "10.9.1.1", "10.1.0.1", UDP, 80) == Action::Deny);
  CHECK(why(c, red, "10.9.1.1", "10.1.0.1", TCP, 22) == "security-group web ingress #2");
  CHECK(why(c, red, "10.1.0.1", "192.0.2.1", UDP, 53) == "security-group web egress #3");
  // Same-network peer without SG is still filtered at the destination's ingress.
  CHECK(verdict(c, red, "10.1.0.2", "10.1.0.1", TCP, 80) == Action::Pass);   // 10.1.0.2 is in 10/8
  CHECK(verdict(c, red, "10.1.0.2", "10.1.0.1", TCP, 443) == Action::Deny);

  // The LPM holds /0, /8 and /16 as three groups; the /16's group is also a member of the /8.
  std::map<std::string, uint32_t> by_prefix;
  for (const auto& e : c.epg_entries)
    if (e.vrf == c.vrfs.at(red)) by_prefix[e.prefix.str()] = e.epg;
  REQUIRE(by_prefix.count("10.0.0.0/8"));
  REQUIRE(by_prefix.count("10.9.0.0/16"));
  const Epg& inner = c.epgs[by_prefix["10.9.0.0/16"] - 1];
  CHECK(inner.cidrs.size() == 3);
  CHECK(by_prefix["10.0.0.0/8"] != by_prefix["10.9.0.0/16"]);
}

TEST_CASE("security group with remote security group") {
  PolicyInput in = two_networks();
  in.security_groups = {{"p:db", {sg_rule(SgDirection::Ingress, TCP, {{5432, 5432}}, "", "p:app")}},
                        {"p:app", {sg_rule(SgDirection::Egress, kAnyProtocol)}}};
  in.interfaces[0].security_groups = {"p:db"};   // 10.1.0.1
  in.interfaces[1].security_groups = {"p:app"};  // 10.1.0.2
  in.interfaces.push_back(vmi("p:r3", "p:red", {"10.1.0.3"}));  // no SG
  auto c = compile(in);
  CHECK(verdict(c, "p:red", "10.1.0.2", "10.1.0.1", TCP, 5432) == Action::Pass);
  CHECK(verdict(c, "p:red", "10.1.0.3", "10.1.0.1", TCP, 5432) == Action::Deny);  // not in p:app
  CHECK(verdict(c, "p:red", "10.1.0.2", "10.1.0.1", TCP, 5433) == Action::Deny);
  CHECK(verdict(c, "p:red", "10.1.0.1", "10.1.0.2", TCP, 5432) == Action::Deny);  // db has no egress rule
  CHECK(why(c, "p:red", "10.1.0.2", "10.1.0.1", TCP, 5432) == "pass: security-group app egress #1 + security-group db ingress #1");
  // Interfaces without SGs in the same network talk freely.
  CHECK(verdict(c, "p:red", "10.1.0.3", "10.1.0.3", UDP, 9) == Action::Pass);
}

TEST_CASE("network policy between networks: it must be attached to both") {
  PolicyInput in = two_networks();
  in.network_policies = {{"p:red-blue", {np_rule("p:red", "p:blue", Action::Pass, TCP, {{80, 80}}, Direction::Both)}}};
  SUBCASE("a rule attached to one side only denies") {
    // red-blue (tcp 80, both ways) joins the networks; dns (udp 53) is attached to red only.
    in.network_policies.push_back({"p:dns", {np_rule("p:red", "p:blue", Action::Pass, UDP, {{53, 53}})}});
    in.networks[0].policies = {{"p:red-blue", 1}, {"p:dns", 2}};
    in.networks[1].policies = {{"p:red-blue", 1}};
    auto c = compile(in);
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.2.0.1", TCP, 80) == Action::Pass);
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.2.0.1", UDP, 53) == Action::Deny);
    CHECK(evaluate(c, c.vrfs.at("p:red"), ip("10.1.0.1"), ip("10.2.0.1"), UDP, 53).dst_epg == epg_of(c, "p:b1"));
  }
  SUBCASE("attached to one network only: the networks stay apart") {
    in.networks[0].policies = {{"p:red-blue", 1}};
    auto c = compile(in);
    // Neither VRF learns the other's endpoints: to red, 10.2.0.1 is just an outside address.
    for (const auto& e : c.epg_entries) {
      if (e.vrf == c.vrfs.at("p:red")) CHECK(e.prefix.str() != "10.2.0.1/32");
      if (e.vrf == c.vrfs.at("p:blue")) CHECK(e.prefix.str() != "10.1.0.1/32");
    }
    CHECK(evaluate(c, c.vrfs.at("p:red"), ip("10.1.0.1"), ip("10.2.0.1"), TCP, 80).dst_epg != epg_of(c, "p:b1"));
    // Same addresses seen from blue: the red endpoint is outside too, so red's network
    // policy has no say there.
    CHECK(evaluate(c, c.vrfs.at("p:blue"), ip("10.2.0.1"), ip("10.1.0.1"), TCP, 80).dst_epg != epg_of(c, "p:r1"));
    CHECK(c.connections.empty());  // no route is leaked either
  }
  SUBCASE("attached to both: allowed on the rule's port, both ways for <>") {
    in.networks[0].policies = {{"p:red-blue", 1}};
    in.networks[1].policies = {{"p:red-blue", 1}};
    auto c = compile(in);
    // Each network's VRF imports the other's routes.
    CHECK(c.connections == std::map<std::string, std::set<std::string>>{{"p:blue", {"p:red"}}, {"p:red", {"p:blue"}}});
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.2.0.1", TCP, 80) == Action::Pass);
    CHECK(verdict(c, "p:blue", "10.2.0.1", "10.1.0.1", TCP, 80) == Action::Pass);
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.2.0.1", TCP, 81) == Action::Deny);
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.2.0.1", UDP, 80) == Action::Deny);
    CHECK(why(c, "p:red", "10.1.0.1", "10.2.0.1", TCP, 80) == "network-policy red-blue #1");
    CHECK(why(c, "p:red", "10.1.0.1", "10.2.0.1", TCP, 81) == "default deny (no entry: nothing allows this flow)");
    // Inside a network traffic stays allowed: the policy says nothing about red -> red.
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.1.0.2", UDP, 53) == Action::Pass);
  }
  SUBCASE("a deny rule inside one network takes precedence by sequence") {
    in.network_policies.push_back({"p:no-ssh", {np_rule("any", "any", Action::Deny, TCP, {{22, 22}})}});
    in.networks[0].policies = {{"p:red-blue", 2}, {"p:no-ssh", 1}};
    auto c = compile(in);
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.1.0.2", TCP, 22) == Action::Deny);
    CHECK(verdict(c, "p:red", "10.1.0.1", "10.1.0.2", TCP, 23) == Action::Pass);
    CHECK(why(c, "p:red", "10.1.0.1", "10.1.0.2", TCP, 23) == "network-policy default allow (same network)");
  }
}

TEST_CASE("a mirroring rule marks its passes, also when combined with other layers") {
  PolicyInput in = two_networks();
  auto rule = np_rule("p:red", "p:blue", Action::Pass, TCP, {{80, 80}}, Direction::Both);
  rule.mirror_to = "p:r2";
  in.network_policies = {{"p:red-blue", {rule}}, {"p:plain", {np_rule("p:red", "p:blue", Action::Pass, TCP, {{80, 80}}, Direction::Both)}}};
  in.networks[0].policies = {{"p:red-blue", 1}};
  in.networks[1].policies = {{"p:plain", 1}};
  auto c = compile(in);
  auto d = evaluate(c, c.vrfs.at("p:red"), ip("10.1.0.1"), ip("10.2.0.1"), TCP, 80);
  REQUIRE(d.action == Action::Pass);
  // Two layers passed (red's policy and blue's): the combined id mirrors to red's analyzer.
  CHECK(c.mirrors.at(d.rule_id) == "p:r2");
  CHECK(c.rule_descriptions.at(d.rule_id).find("mirrored to r2") != std::string::npos);
  auto t = to_abi(c);
  int mirrored = 0;
  for (const auto& r : t.rules) mirrored += r.value.action == VR_ACT_MIRROR;
  CHECK(mirrored > 0);
  // What does not pass through the mirroring rule is not mirrored.
  auto inside = evaluate(c, c.vrfs.at("p:red"), ip("10.1.0.1"), ip("10.1.0.2"), TCP, 80);
  CHECK(c.mirrors.count(inside.rule_id) == 0);
}

TEST_CASE("overlapping port ranges: the earlier rule wins, tables hold disjoint intervals") {
  PolicyInput in = two_networks();
  for (std::string t : {"application=shop", "tier=a", "tier=b"})
    in.tags.push_back({t, t.substr(0, t.find('=')), t.substr(t.find('=') + 1)});
  in.networks[0].tags = {"application=shop"};
  in.interfaces[0].tags = {"tier=a"};
  in.interfaces[1].tags = {"tier=b"};
  // pass-inner is entirely shadowed by deny-mid.
  auto deny_mid = fw_rule("p:deny-mid", {"tier=a"}, {"tier=b"}, Action::Deny, {{TCP, {}, {8000, 8100}}});
  auto pass_wide = fw_rule("p:pass-wide", {"tier=a"}, {"tier=b"}, Action::Pass, {{TCP, {}, {1, 9000}}});
  auto pass_inner = fw_rule("p:pass-inner", {"tier=a"}, {"tier=b"}, Action::Pass, {{TCP, {}, {8050, 8060}}});
  with_firewall(in, {pass_inner, pass_wide, deny_mid}, {"application=shop"});
  // Input order is irrelevant: sequences decide.
  in.firewall_policies[0].rules = {{"p:pass-inner", 30}, {"p:pass-wide", 20}, {"p:deny-mid", 10}};
  auto c = compile(in);
  const char *a = "10.1.0.1", *b = "10.1.0.2";
  CHECK(verdict(c, "p:red", a, b, TCP, 0) == Action::Deny);
  CHECK(verdict(c, "p:red", a, b, TCP, 1) == Action::Pass);
  CHECK(verdict(c, "p:red", a, b, TCP, 7999) == Action::Pass);
  CHECK(verdict(c, "p:red", a, b, TCP, 8000) == Action::Deny);
  CHECK(verdict(c, "p:red", a, b, TCP, 8055) == Action::Deny);
  CHECK(verdict(c, "p:red", a, b, TCP, 8100) == Action::Deny);
  CHECK(verdict(c, "p:red", a, b, TCP, 8101) == Action::Pass);
  CHECK(verdict(c, "p:red", a, b, TCP, 9000) == Action::Pass);
  CHECK(verdict(c, "p:red", a, b, TCP, 9001) == Action::Deny);
  CHECK(why(c, "p:red", a, b, TCP, 8101) == "firewall-rule pass-wide (aps aps, policy fp, seq 20)");
  // The stored prefixes of one (pair, protocol) never overlap: LPM order cannot matter.
  std::vector<std::pair<int, int>> spans;
  for (const auto& r : c.rules) {
    if (r.src_epg != epg_of(c, "p:r1") || r.dst_epg != epg_of(c, "p:r2") || r.protocol != TCP) continue;
    int size = 1 << (16 - r.port_len);
    spans.push_back({r.port, r.port + size - 1});
  }
  std::sort(spans.begin(), spans.end());
  CHECK(spans.size() > 2);
  for (size_t i = 1; i < spans.size(); ++i) CHECK(spans[i].first > spans[i - 1].second);
}

TEST_CASE("any-protocol rules: exact-protocol entries carry the combined decision") {
  PolicyInput in = two_networks();
  in.security_groups = {{"p:sg", {sg_rule(SgDirection::Ingress, kAnyProtocol),  // all protocols, all ports
                                  sg_rule(SgDirection::Egress, kAnyProtocol)}}};
  in.interfaces[0].security_groups = {"p:sg"};
  in.interfaces[1].security_groups = {"p:sg"};
  in.network_policies = {{"p:no-telnet", {np_rule("any", "any", Action::Deny, TCP, {{23, 23}})}}};
  in.networks[0].policies = {{"p:no-telnet", 1}};
  auto c = compile(in);
  const char *x = "10.1.0.1", *y = "10.1.0.2";
  CHECK(verdict(c, "p:red", x, y, TCP, 23) == Action::Deny);   // exact tcp entry shadows ANY
  CHECK(verdict(c, "p:red", x, y, UDP, 23) == Action::Pass);   // falls through to ANY
  CHECK(verdict(c, "p:red", x, y, TCP, 22) == Action::Pass);
  CHECK(verdict(c, "p:red", x, y, 47, 0) == Action::Pass);     // GRE: only ANY entries apply
  CHECK(why(c, "p:red", x, y, TCP, 23) == "network-policy no-telnet #1");
  // Exactly one deny entry (tcp/23) for each direction of the pair, and a single ANY pass.
  uint32_t ex = epg_of(c, "p:r1"), ey = epg_of(c, "p:r2");
  int denies = 0, any_pass = 0;
  for (const auto& r : c.rules) {
    if (r.src_epg != ex || r.dst_epg != ey) continue;
    if (r.action == Action::Deny) {
      ++denies;
      CHECK(r.protocol == TCP);
      CHECK(r.port == 23);
      CHECK(r.port_len == 16);
    } else if (r.protocol == kAnyProtocol) {
      ++any_pass;
    }
  }
  CHECK(denies == 1);
  CHECK(any_pass == 1);
}

TEST_CASE("IPv6: own groups, v6 CIDRs, ethertype-specific SG rules") {
  PolicyInput in = two_networks();
  in.security_groups = {{"p:v6only", {sg_rule(SgDirection::Ingress, TCP, {{443, 443}}, "fd00:1::/64", "", Family::V6),
                                      sg_rule(SgDirection::Ingress, TCP, {{443, 443}}, "10.0.0.0/8")}}};
  in.interfaces[0].security_groups = {"p:v6only"};
  auto c = compile(in);
  CHECK(verdict(c, "p:red", "fd00:1::2", "fd00:1::1", TCP, 443) == Action::Pass);
  CHECK(verdict(c, "p:red", "fd00:9::2", "fd00:1::1", TCP, 443) == Action::Deny);
  CHECK(verdict(c, "p:red", "fd00:1::2", "fd00:1::1", TCP, 80) == Action::Deny);
  CHECK(verdict(c, "p:red", "10.1.0.2", "10.1.0.1", TCP, 443) == Action::Pass);
  const auto& r1 = c.interfaces[0];  // sorted by name: p:b1, p:r1, p:r2
  CHECK(r1.interface == "p:b1");
  uint32_t v4 = c.interfaces[1].addresses[0].second, v6 = c.interfaces[1].addresses[1].second;
  CHECK(v4 != v6);
  CHECK(c.epgs[v6 - 1].family == Family::V6);
}

TEST_CASE("ABI export: LPM prefix lengths and network byte order") {
  PolicyInput in = two_networks();
  in.security_groups = {{"p:sg", {sg_rule(SgDirection::Ingress, TCP, {{1521, 1630}})}}};
  in.interfaces[0].security_groups = {"p:sg"};
  auto c = compile(in);
  auto t = to_abi(c);
  CHECK(t.epg4.size() + t.epg6.size() == c.epg_entries.size());
  CHECK(t.rules.size() == c.rules.size());
  bool found_host = false;
  for (const auto& e : t.epg4)
    if (e.key.addr == htonl(0x0a010001)) {  // 10.1.0.1
      found_host = true;
      CHECK(e.key.prefixlen == 32 + 32);
      CHECK(e.key.vrf == c.vrfs.at("p:red"));
    }
  CHECK(found_host);
  for (const auto& e : t.epg6)
    if (e.key.prefixlen == 32 + 128 && e.key.addr[15] == 1 && e.key.addr[3] == 1) CHECK(e.key.addr[0] == 0xfd);
  std::set<int> ports;
  for (size_t i = 0; i < c.rules.size(); ++i) {
    const auto& r = c.rules[i];
    const auto& a = t.rules[i];
    CHECK(a.key.prefixlen == 32 + 32 + 8 + 8 + r.port_len);
    CHECK(a.key.pad == 0);
    CHECK(ntohs(a.key.dport) == r.port);
    CHECK(a.value.action == (r.action == Action::Pass ? VR_ACT_PASS : VR_ACT_DENY));  // nothing mirrors here
    if (r.protocol == TCP) ports.insert(r.port);
  }
  CHECK(ports.count(1521));
  CHECK(ports.count(1536));
}

TEST_CASE("group ids and tables do not depend on input order") {
  PolicyInput a = two_networks(), b = two_networks();
  std::reverse(b.interfaces.begin(), b.interfaces.end());
  std::reverse(b.networks.begin(), b.networks.end());
  auto ca = compile(a), cb = compile(b);
  CHECK(ca.vrfs == cb.vrfs);
  REQUIRE(ca.rules.size() == cb.rules.size());
  for (size_t i = 0; i < ca.rules.size(); ++i) {
    CHECK(ca.rules[i].src_epg == cb.rules[i].src_epg);
    CHECK(ca.rules[i].port == cb.rules[i].port);
  }
}

TEST_CASE("interfaces under policy: those some layer can decide for") {
  PolicyInput in = two_networks();
  auto under = [](const CompiledPolicy& c, const std::string& name) {
    for (const auto& i : c.interfaces)
      if (i.interface == name) return i.under_policy;
    FAIL("no interface " << name);
    return false;
  };
  in.security_groups = {{"p:sg", {sg_rule(SgDirection::Ingress, TCP, {{80, 80}})}}};
  in.interfaces[0].security_groups = {"p:sg"};
  auto c = compile(in);
  CHECK(under(c, "p:r1"));   // its security group
  CHECK(!under(c, "p:r2"));  // same network, nothing of its own: flows to r1 are r1's to decide
  CHECK(!under(c, "p:b1"));
  in.network_policies = {{"p:np", {np_rule("any", "any", Action::Pass)}}};
  in.networks[1].policies = {{"p:np", 1}};
  c = compile(in);
  CHECK(under(c, "p:b1"));   // its network's policy
  CHECK(!under(c, "p:r2"));
}

TEST_CASE("a project's application policy set governs its own workloads only") {
  PolicyInput in = two_networks();  // project p: red (r1, r2)
  in.networks.push_back({"q:green", "", 0, {}, {}});
  in.interfaces.push_back(vmi("q:g1", "q:green", {"10.3.0.1"}));
  in.interfaces.push_back(vmi("q:g2", "q:green", {"10.3.0.2"}));
  // p's set applies to all applications and denies everything (no rule passes).
  with_firewall(in, {fw_rule("p:deny", {}, {}, Action::Deny)});
  auto c = compile(in);
  CHECK(verdict(c, "p:red", "10.1.0.1", "10.1.0.2", TCP, 80) == Action::Deny);
  CHECK(verdict(c, "q:green", "10.3.0.1", "10.3.0.2", TCP, 80) == Action::Pass);  // another tenant's
  // The operator's set (no project) governs every workload.
  in.application_policy_sets[0].name = "global-aps";
  c = compile(in);
  CHECK(verdict(c, "q:green", "10.3.0.1", "10.3.0.2", TCP, 80) == Action::Deny);
}

TEST_CASE("allowed address pairs are in their port's endpoint group, in its VRF and connected ones") {
  PolicyInput in = two_networks();
  in.network_policies = {{"p:red-blue", {np_rule("p:red", "p:blue", Action::Pass, TCP, {{80, 80}})}}};
  in.networks[0].policies = {{"p:red-blue", 1}};
  in.networks[1].policies = {{"p:red-blue", 1}};
  in.interfaces[0].allowed_pairs = {"10.1.0.200/32", "10.1.0.64/28"};
  in.interfaces[1].allowed_pairs = {"10.1.0.200/32"};  // shared (VRRP): the first port by name keeps it
  auto c = compile(in);
  auto r1 = epg_of(c, "p:r1");
  for (const char* a : {"10.1.0.200", "10.1.0.70"}) {
    CAPTURE(a);
    CHECK(evaluate(c, c.vrfs.at("p:red"), ip(a), ip("10.2.0.1"), TCP, 80).src_epg == r1);
    CHECK(evaluate(c, c.vrfs.at("p:blue"), ip("10.2.0.1"), ip(a), TCP, 80).dst_epg == r1);
    CHECK(verdict(c, "p:red", a, "10.2.0.1", TCP, 80) == Action::Pass);
    CHECK(verdict(c, "p:red", a, "10.2.0.1", TCP, 81) == Action::Deny);
  }
  // A pair never takes a port's own address away.
  in.interfaces[0].allowed_pairs = {"10.2.0.1/32"};
  auto c2 = compile(in);
  CHECK(evaluate(c2, c2.vrfs.at("p:red"), ip("10.1.0.1"), ip("10.2.0.1"), TCP, 80).dst_epg == epg_of(c2, "p:b1"));
  in.interfaces[0].allowed_pairs = {"10.1.0.65/28"};
  CHECK(rejection_of([&] { compile(in); }).find("virtual_machine_interface_allowed_address_pairs") != std::string::npos);
}
