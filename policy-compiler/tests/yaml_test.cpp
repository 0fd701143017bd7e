// The YAML front end: controller-style documents, both layouts, tag short forms, errors.
#include <doctest/doctest.h>

#include "fixtures.h"
#include "vrfabric/policy/yaml.h"

using namespace fx;

namespace {
std::string error_of(const std::string& yaml) {
  return fx::rejection_of([&] { compile(read_policy_yaml(yaml)); });
}

const char* kDocs = R"(
kind: project
fq_name: d:p
tag_refs: [{to: site=lon}]
---
kind: tag
fq_name: site=lon
tag_type_name: site
tag_value: lon
---
kind: tag
fq_name: d:p:tier=web
tag_type_name: tier
tag_value: web
---
kind: network-ipam
fq_name: d:p:ipam
---
kind: virtual-network
fq_name: d:p:net
vrf: 42
network_ipam_refs: [{to: d:p:ipam, attr: {ipam_subnets: [{subnet: 10.0.0.0/24}]}}]
---
kind: security-group
fq_name: d:p:web
rules:
  - {direction: ingress, ethertype: IPv4, protocol: tcp, remote_cidr: 10.0.0.0/24, ports: [{start_port: 80, end_port: 80}]}
---
kind: virtual-machine-interface
fq_name: d:p:vmi1
virtual_network_refs: [{to: d:p:net}]
security_group_refs: [{to: d:p:web}]
tag_refs: [{to: tier=web}]
---
kind: virtual-machine-interface
fq_name: d:p:vmi2
virtual_network_refs: [{to: d:p:net}]
---
kind: instance-ip
fq_name: d:p:ip1
instance_ip_address: 10.0.0.1
virtual_machine_interface_refs: [{to: d:p:vmi1}]
---
kind: instance-ip
fq_name: d:p:ip2
instance_ip_address: 10.0.0.2
virtual_machine_interface_refs: [{to: d:p:vmi2}]
)";
}  // namespace

TEST_CASE("one object per document, like vrctl apply") {
  PolicyInput in = read_policy_yaml(kDocs);
  REQUIRE(in.interfaces.size() == 2);
  CHECK(in.interfaces[0].addresses == std::vector<std::string>{"10.0.0.1"});
  CHECK(in.interfaces[0].tags == std::vector<std::string>{"d:p:tier=web"});  // resolved in the project
  CHECK(in.projects[0].tags == std::vector<std::string>{"site=lon"});        // global tag
  CompiledPolicy c = compile(in);
  CHECK(c.vrfs.at("d:p:net") == 42);
  CHECK(verdict(c, "d:p:net", "10.0.0.2", "10.0.0.1", TCP, 80) == Action::Pass);
  CHECK(verdict(c, "d:p:net", "10.0.0.2", "10.0.0.1", TCP, 81) == Action::Deny);
  CHECK(effective_tags(in, "d:p:vmi1").at("site") == std::vector<std::string>{"site=lon"});
}

TEST_CASE("compact layout: plural kinds with lists") {
  PolicyInput in = read_policy_yaml(R"(
tags: [{fq_name: "p:tier=a", tag_type_name: tier, tag_value: a}]
tag-types: [{fq_name: instance}]
virtual-networks: [{fq_name: p:n}]
address-groups: [{fq_name: p:ag, prefixes: [10.0.0.0/8]}]
firewall-rules:
  - {fq_name: p:r, action: deny, direction: "<>", endpoint_1: {address_group: p:ag}, endpoint_2: {tags: [tier=a]},
     service: {protocol: udp, dst_ports: {start_port: 53, end_port: 53}}, match_tags: [instance]}
firewall-policies: [{fq_name: p:fp, firewall_rule_refs: [{to: p:r, attr: {sequence: "2.5"}}]}]
application-policy-sets: [{fq_name: p:global, all_applications: true, firewall_policy_refs: [{to: p:fp}]}]
)");
  CHECK(in.custom_tag_types == std::vector<std::string>{"instance"});
  REQUIRE(in.firewall_rules.size() == 1);
  const auto& r = in.firewall_rules[0];
  CHECK(r.direction == Direction::Both);
  CHECK(r.action == Action::Deny);
  CHECK(r.endpoint_2.tags == std::vector<std::string>{"p:tier=a"});
  CHECK(r.services.at(0).protocol == UDP);
  CHECK(r.services.at(0).dst_ports == PortRange{53, 53});
  CHECK(in.firewall_policies[0].rules[0].sequence == 2.5);
  CHECK(in.application_policy_sets[0].all_applications);
  CHECK_NOTHROW(compile(in));
}

TEST_CASE("YAML errors name the object, the field and the line") {
  CHECK(error_of("kind: security-group\nfq_name: p:sg\nrules: [{direction: inbound, ethertype: IPv4, protocol: tcp}]\n")
            .starts_with("security-group p:sg: direction: \"inbound\" is not one of ingress, egress"));
  CHECK(error_of("kind: virtual-network\nfq_name: p:n\nvrff: 3\n") == "virtual-network p:n: vrff: unknown field (line 3)");
  CHECK(error_of("kind: gizmo\nfq_name: p:g\n").starts_with("gizmo p:g: kind: unknown kind \"gizmo\""));
  CHECK(error_of("kind: network-policy\nfq_name: p:np\nrules: [{direction: \">\", protocol: tcpp, src_networks: [any], "
                 "dst_networks: [any], action: pass}]\n")
            .starts_with("network-policy p:np: protocol: unknown protocol \"tcpp\""));
  CHECK(error_of("kind: virtual-machine-interface\nfq_name: p:i\n").starts_with(
      "virtual-machine-interface p:i: virtual_network_refs: needs exactly one virtual-network"));
  CHECK(error_of("kind: instance-ip\nfq_name: p:ip\ninstance_ip_address: 10.0.0.1\n"
                 "virtual_machine_interface_refs: [{to: p:ghost}]\n") ==
        "instance-ip p:ip: virtual_machine_interface_refs: unknown virtual-machine-interface \"p:ghost\"");
  CHECK(error_of("kind: [unclosed\n").starts_with("YAML: line"));
  CHECK(error_of("kind: firewall-policy\nfq_name: p:fp\nfirewall_rule_refs: [{to: p:r, attr: {sequence: abc}}]\n")
            .starts_with("firewall-policy p:fp: firewall_rule_refs[0].attr.sequence: not a number: \"abc\""));
}
