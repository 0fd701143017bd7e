// Invalid input is rejected with a message naming the object and the field.
#include <doctest/doctest.h>

#include "fixtures.h"

using namespace fx;

namespace {
std::string error_of(const PolicyInput& in) {
  return fx::rejection_of([&] { compile(in); });
}

PolicyInput base() {
  PolicyInput in = two_networks();
  in.tags = {{"p:tier=web", "tier", "web"}, {"p:application=shop", "application", "shop"}};
  in.security_groups = {{"p:sg", {sg_rule(SgDirection::Ingress, TCP, {{80, 80}})}}};
  in.service_groups = {{"p:svc", {{TCP, {}, {80, 80}}}}};
  in.address_groups = {{"p:ag", {"10.0.0.0/8"}}};
  with_firewall(in, {fw_rule("p:r1", {}, {"p:tier=web"})}, {"p:application=shop"});
  return in;
}
}  // namespace

TEST_CASE("the base configuration of these cases is valid") { CHECK(error_of(base()) == "(no error)"); }

TEST_CASE("unknown tag type") {
  PolicyInput in = base();
  in.tags.push_back({"p:colour=red", "colour", "red"});
  CHECK(error_of(in).starts_with("tag p:colour=red: tag_type_name: unknown tag type \"colour\""));
  in.custom_tag_types = {"colour"};  // declared custom types are fine
  CHECK(error_of(in) == "(no error)");
  in = base();
  in.firewall_rules[0].match_tags = {"deploymnet"};
  CHECK(error_of(in) == "firewall-rule p:r1: match_tags: unknown tag type \"deploymnet\"");
}

TEST_CASE("malformed CIDRs and addresses") {
  PolicyInput in = base();
  in.security_groups[0].rules[0].remote_cidr = "10.0.0.0/33";
  CHECK(error_of(in) == "security-group p:sg: rules[0].remote_cidr: malformed CIDR \"10.0.0.0/33\" (want ADDRESS/LEN)");
  in.security_groups[0].rules[0].remote_cidr = "10.1.2.3/16";
  CHECK(error_of(in) == "security-group p:sg: rules[0].remote_cidr: CIDR \"10.1.2.3/16\" has host bits set; did you mean 10.1.0.0/16?");
  in.security_groups[0].rules[0].remote_cidr = "fd00::/16";
  CHECK(error_of(in) == "security-group p:sg: rules[0].remote_cidr: \"fd00::/16\" is not an IPv4 prefix (the rule's ethertype)");
  in = base();
  in.address_groups[0].prefixes = {"10.0.0.0"};
  CHECK(error_of(in) == "address-group p:ag: prefixes: malformed CIDR \"10.0.0.0\" (want ADDRESS/LEN)");
  in = base();
  in.interfaces[0].addresses.push_back("10.1.0.300");
  CHECK(error_of(in) == "virtual-machine-interface p:r1: addresses: malformed address \"10.1.0.300\" (want a host address)");
}

TEST_CASE("port ranges") {
  PolicyInput in = base();
  in.security_groups[0].rules[0].ports = {{90, 80}};
  CHECK(error_of(in) == "security-group p:sg: rules[0].ports: invalid port range 90-80 (need 0 <= start <= end <= 65535)");
  in.security_groups[0].rules[0].ports = {{1, 70000}};
  CHECK(error_of(in) == "security-group p:sg: rules[0].ports: invalid port range 1-70000 (need 0 <= start <= end <= 65535)");
  in = base();
  in.service_groups[0].services[0].dst_ports = {-1, 5};
  CHECK(error_of(in) == "service-group p:svc: services[0].dst_ports: invalid port range -1-5 (need 0 <= start <= end <= 65535)");
  in = base();
  in.service_groups[0].services[0].src_ports = {1024, 65535};
  CHECK(error_of(in).starts_with("service-group p:svc: services[0].src_ports: source port ranges are not supported"));
}

TEST_CASE("references to unknown objects") {
  PolicyInput in = base();
  in.interfaces[0].security_groups = {"p:nope"};
  CHECK(error_of(in) == "virtual-machine-interface p:r1: security_groups: unknown security-group \"p:nope\"");
  in = base();
  in.security_groups[0].rules[0].remote_group = "p:other";
  CHECK(error_of(in) == "security-group p:sg: rules[0].remote_group: unknown security-group \"p:other\"");
  in = base();
  in.firewall_rules[0].service_groups = {"p:svc2"};
  CHECK(error_of(in) == "firewall-rule p:r1: service_group_refs: unknown service-group \"p:svc2\"");
  in = base();
  in.firewall_rules[0].endpoint_1 = {{}, false, "p:ag2", ""};
  CHECK(error_of(in) == "firewall-rule p:r1: endpoint_1.address_group: unknown address-group \"p:ag2\"");
  in = base();
  in.firewall_rules[0].endpoint_2.tags = {"p:tier=wbe"};
  CHECK(error_of(in) == "firewall-rule p:r1: endpoint_2.tags: unknown tag \"p:tier=wbe\"");
  in = base();
  in.interfaces[0].network = "p:purple";
  CHECK(error_of(in) == "virtual-machine-interface p:r1: virtual_network: unknown virtual-network \"p:purple\"");
  in = base();
  in.network_policies = {{"p:np", {np_rule("p:red", "p:mauve", Action::Pass)}}};
  CHECK(error_of(in) == "network-policy p:np: rules[0].dst_networks: unknown virtual-network \"p:mauve\"");
  in = base();
  in.application_policy_sets[0].tags = {"p:tier=web"};
  CHECK(error_of(in).starts_with("application-policy-set p:aps: tags: tag \"p:tier=web\" is of type tier"));
}

TEST_CASE("ambiguities") {
  PolicyInput in = base();
  in.firewall_rules.push_back(in.firewall_rules[0]);
  in.firewall_rules.back().name = "p:r2";
  in.firewall_policies[0].rules.push_back({"p:r2", 1});
  CHECK(error_of(in) == "firewall-policy p:fp: firewall_rule_refs: \"p:r1\" and \"p:r2\" share sequence 1: precedence would be ambiguous");
  in = base();
  in.tags.push_back({"p:tier=db", "tier", "db"});
  in.interfaces[0].tags = {"p:tier=web", "p:tier=db"};
  CHECK(error_of(in) == "virtual-machine-interface p:r1: tags: two tags of type tier (p:tier=web, p:tier=db): an object carries one value per tag type");
  in = base();
  in.security_groups.push_back(in.security_groups[0]);
  CHECK(error_of(in) == "security-group p:sg: name: defined twice");
  in = base();
  in.interfaces[2].addresses = {"10.1.0.1"};  // b1 takes r1's address; the networks are apart: fine
  CHECK(error_of(in) == "(no error)");
  in.network_policies = {{"p:np", {np_rule("any", "any", Action::Pass)}}};
  in.networks[0].policies = in.networks[1].policies = {{"p:np", 1}};  // now both are in both VRFs
  CHECK(error_of(in).starts_with("virtual-machine-interface p:r1: addresses: address 10.1.0.1 is also used by p:b1"));
  in = base();
  in.firewall_rules[0].endpoint_1 = {};
  CHECK(error_of(in).starts_with("firewall-rule p:r1: endpoint_1: matches nothing"));
  in = base();
  in.networks[0].vrf = 7;
  in.networks[1].vrf = 7;
  CHECK(error_of(in) == "virtual-network p:blue: vrf: VRF 7 already used by p:red");
}

TEST_CASE("mirror_to names an existing interface, on pass rules only") {
  PolicyInput in = base();
  in.firewall_rules[0].mirror_to = "p:nowhere";
  CHECK(error_of(in) == "firewall-rule p:r1: mirror_to: unknown virtual-machine-interface \"p:nowhere\"");
  in.firewall_rules[0].mirror_to = "p:r2";
  CHECK(error_of(in) == "(no error)");
  in.firewall_rules[0].action = Action::Deny;
  CHECK(error_of(in) == "firewall-rule p:r1: mirror_to: only a pass rule can mirror");
  in = base();
  in.network_policies = {{"p:np", {np_rule("any", "any", Action::Deny)}}};
  in.network_policies[0].rules[0].mirror_to = "p:r2";
  CHECK(error_of(in) == "network-policy p:np: rules[0].mirror_to: only a pass rule can mirror");
}
