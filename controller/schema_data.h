#pragma once
// The configuration schema of vr-controller, described ONCE as data. Validation, REST
// routes, vrctl help/aliases and `vrctl apply` ordering are all derived from this text
// (see schema.h). It is a header so that vrctl can embed it without linking the
// controller (no file to install, no drift between client and server).
//
// Field types: string, name, integer, boolean, ip, cidr, mac, uuid, route_target,
// port, json, an enum ({"enum": [...]}), "list<T>", or the name of a struct below.
// A field may be a bare type string or {"type":..., "required":..., "min":..., "max":...,
// "enum":[...], "help":...}. Refs are lists of {"to": fq_name, "uuid":..., "attr": {...}}.
// "parents": allowed parent types; "" means the object may also live at the top level.

namespace vrf::schema {
inline constexpr const char* kSchemaJson = R"json(
{
  "common": {
    "display_name": {"type": "string", "help": "human readable name"},
    "description":  {"type": "string", "help": "free text"}
  },
  "structs": {
    "allocation_pool": {
      "start": {"type": "ip", "required": true},
      "end":   {"type": "ip", "required": true}
    },
    "ipam_subnet": {
      "subnet":             {"type": "cidr", "required": true, "help": "v4 or v6 prefix, e.g. 10.0.1.0/24"},
      "subnet_uuid":        {"type": "uuid", "help": "assigned by the controller"},
      "default_gateway":    {"type": "ip", "help": "defaults to the first host address"},
      "dns_server_address": {"type": "ip", "help": "defaults to the gateway (the agent's DNS proxy)"},
      "allocation_pools":   {"type": "list<allocation_pool>", "help": "defaults to the whole subnet"},
      "enable_dhcp":        "boolean"
    },
    "vn_subnets": {
      "ipam_subnets": "list<ipam_subnet>"
    },
    "subnet_type": {
      "ip_prefix":     {"type": "ip", "required": true},
      "ip_prefix_len": {"type": "integer", "min": 0, "max": 128, "required": true}
    },
    "allowed_address_pair": {
      "ip":           {"type": "subnet_type", "required": true, "help": "prefix the port may also send from"},
      "mac":          {"type": "mac", "help": "MAC it sends from; the port's own if absent"},
      "address_mode": {"enum": ["active-active", "active-standby"]}
    },
    "sequence": {
      "sequence": {"type": "string", "help": "ordering key, e.g. \"1.0\""}
    },
    "port_range": {
      "start_port": {"type": "port", "required": true},
      "end_port":   {"type": "port", "required": true}
    },
    "policy_rule": {
      "direction":    {"enum": [">", "<>"], "required": true},
      "protocol":     {"enum": ["any", "tcp", "udp", "icmp", "icmp6"], "required": true},
      "src_networks": {"type": "list<string>", "required": true, "help": "fq_names (a:b:c) or \"any\""},
      "dst_networks": {"type": "list<string>", "required": true},
      "src_ports":    "list<port_range>",
      "dst_ports":    "list<port_range>",
      "action":       {"enum": ["pass", "deny"], "required": true},
      "mirror_to":    {"type": "string", "help": "fq_name of a virtual-machine-interface (the analyzer) that gets a copy of the passed traffic"}
    },
    "sg_rule": {
      "direction":    {"enum": ["ingress", "egress"], "required": true},
      "ethertype":    {"enum": ["IPv4", "IPv6"], "required": true},
      "protocol":     {"enum": ["any", "tcp", "udp", "icmp", "icmp6"], "required": true},
      "remote_cidr":  "cidr",
      "remote_group": {"type": "string", "help": "fq_name of a security-group"},
      "ports":        "list<port_range>"
    },
    "fw_service": {
      "protocol":  {"enum": ["any", "tcp", "udp", "icmp", "icmp6"], "required": true},
      "src_ports": "port_range",
      "dst_ports": "port_range"
    },
    "fw_endpoint": {
      "tags":            {"type": "list<string>", "help": "tag names type=value, all must match"},
      "any":             "boolean",
      "address_group":   {"type": "string", "help": "fq_name of an address-group"},
      "virtual_network": {"type": "string", "help": "fq_name of a virtual-network"}
    },
    "bgp_router_params": {
      "router_type":       {"enum": ["control-node", "external-control-node", "router"], "required": true},
      "vendor":            "string",
      "address":           {"type": "ip", "required": true},
      "identifier":        "ip",
      "autonomous_system": {"type": "integer", "min": 1, "max": 4294967295},
      "port":              "port",
      "hold_time":         {"type": "integer", "min": 0, "max": 65535},
      "address_families":  {"type": "list<enum>", "enum": ["inet", "inet6", "inet-vpn", "inet6-vpn", "e-vpn", "route-target"]}
    },
    "bgp_session": {
      "auth_key": "string",
      "passive":  "boolean"
    }
  },
  "types": [
    {"name": "global-system-config", "plural": "global-system-configs", "short": "gsc", "parents": [""],
     "help": "fabric-wide settings: AS number, encapsulation priority",
     "properties": {
       "autonomous_system":        {"type": "integer", "min": 1, "max": 4294967295, "required": true},
       "encapsulation_priorities": {"type": "list<enum>", "enum": ["MPLSoGRE", "MPLSoUDP", "VXLAN"]},
       "ibgp_auto_mesh":           "boolean",
       "ip_fabric_subnets":        "list<cidr>"
     }},
    {"name": "domain", "plural": "domains", "short": "dom", "parents": [""],
     "help": "top of the tenancy tree"},
    {"name": "project", "plural": "projects", "short": "proj", "parents": ["domain"],
     "help": "a tenant; tokens carry a role per project",
     "refs": {"tag_refs": {"to": "tag"}}},
    {"name": "network-ipam", "plural": "network-ipams", "short": "ipam", "parents": ["project"],
     "help": "address management; subnets hang off the virtual-network's reference to it",
     "properties": {
       "ipam_method": {"enum": ["dhcp", "static", "fixed"]},
       "dns_method":  {"enum": ["default-dns-server", "virtual-dns-server", "tenant-dns-server", "none"]}
     }},
    {"name": "virtual-network", "plural": "virtual-networks", "short": "vn", "parents": ["project"],
     "help": "an isolated L2/L3 network (one VRF per host); VNI and route target allocated if absent",
     "properties": {
       "vni":               {"type": "integer", "min": 1, "max": 16777215, "help": "VXLAN network identifier"},
       "route_target_list": {"type": "list<route_target>", "help": "target:ASN:N; one allocated if empty"},
       "forwarding_mode":   {"enum": ["l2", "l3", "l2_l3"]},
       "is_shared":         "boolean",
       "router_external":   "boolean"
     },
     "refs": {
       "network_ipam_refs":   {"to": "network-ipam", "attr": "vn_subnets"},
       "network_policy_refs": {"to": "network-policy", "attr": "sequence"},
       "tag_refs":            {"to": "tag"}
     }},
    {"name": "virtual-machine", "plural": "virtual-machines", "short": "vm", "parents": ["project"],
     "help": "a workload (VM, container, pod)",
     "properties": {"server_type": {"enum": ["virtual-server", "container", "pod"]}},
     "refs": {"tag_refs": {"to": "tag"}}},
    {"name": "virtual-machine-interface", "plural": "virtual-machine-interfaces", "short": "vmi", "parents": ["project"],
     "help": "a workload port; create with ?allocate_ip=v4|v6|both to get its instance-ip in the same request",
     "properties": {
       "mac_address":           {"type": "mac", "help": "generated if absent"},
       "host_id":               {"type": "string", "help": "host the port is bound to"},
       "device_owner":          "string",
       "port_security_enabled": "boolean",
       "disable_policy":        "boolean",
       "virtual_machine_interface_allowed_address_pairs": {"type": "list<allowed_address_pair>",
         "help": "extra prefixes (and MACs) the port may send from, inside its network's subnets"}
     },
     "refs": {
       "virtual_network_refs":    {"to": "virtual-network", "required": true, "single": true},
       "virtual_machine_refs":    {"to": "virtual-machine", "single": true},
       "security_group_refs":     {"to": "security-group"},
       "tag_refs":                {"to": "tag"}
     }},
    {"name": "instance-ip", "plural": "instance-ips", "short": "iip", "parents": ["project"],
     "help": "an address of a port, allocated from its network's subnets",
     "properties": {
       "instance_ip_address":   {"type": "ip", "help": "allocated if absent; honoured or refused if given"},
       "instance_ip_family":    {"enum": ["v4", "v6"]},
       "subnet_uuid":           "uuid",
       "instance_ip_secondary": "boolean"
     },
     "refs": {
       "virtual_network_refs":           {"to": "virtual-network", "required": true, "single": true},
       "virtual_machine_interface_refs": {"to": "virtual-machine-interface"}
     }},
    {"name": "network-policy", "plural": "network-policies", "short": "np", "parents": ["project"],
     "help": "rules between virtual networks",
     "properties": {"rules": "list<policy_rule>"}},
    {"name": "security-group", "plural": "security-groups", "short": "sg", "parents": ["project"],
     "help": "stateful rules applied to ports",
     "properties": {"rules": "list<sg_rule>"}},
    {"name": "tag", "plural": "tags", "short": "tag", "parents": ["project", ""],
     "help": "a type=value label; fq name ends in TYPE=VALUE; tag_id allocated by the controller",
     "properties": {
       "tag_type_name": {"type": "name", "required": true, "help": "application, tier, deployment, site, label or a custom type"},
       "tag_value":     {"type": "string", "required": true},
       "tag_id":        {"type": "integer", "help": "assigned: type id << 16 | index"}
     }},
    {"name": "application-policy-set", "plural": "application-policy-sets", "short": "aps", "parents": ["project", ""],
     "help": "firewall policies applied to everything carrying its application tag",
     "properties": {"all_applications": "boolean"},
     "refs": {
       "firewall_policy_refs": {"to": "firewall-policy", "attr": "sequence"},
       "tag_refs":             {"to": "tag"}
     }},
    {"name": "firewall-policy", "plural": "firewall-policies", "short": "fwp", "parents": ["project", ""],
     "help": "an ordered list of firewall rules",
     "refs": {"firewall_rule_refs": {"to": "firewall-rule", "attr": "sequence"}}},
    {"name": "firewall-rule", "plural": "firewall-rules", "short": "fwr", "parents": ["project", ""],
     "help": "a tag-based rule: endpoint_1 DIRECTION endpoint_2, service, action, match_tags",
     "properties": {
       "action":     {"enum": ["pass", "deny"], "required": true},
       "direction":  {"enum": [">", "<", "<>"], "required": true},
       "service":    "fw_service",
       "endpoint_1": {"type": "fw_endpoint", "required": true},
       "endpoint_2": {"type": "fw_endpoint", "required": true},
       "match_tags": {"type": "list<name>", "help": "tag types whose values must be equal on both ends, e.g. [deployment]"},
       "mirror_to":  {"type": "string", "help": "fq_name of a virtual-machine-interface (the analyzer) that gets a copy of the passed traffic"}
     },
     "refs": {
       "service_group_refs": {"to": "service-group"},
       "address_group_refs": {"to": "address-group"}
     }},
    {"name": "service-group", "plural": "service-groups", "short": "svg", "parents": ["project", ""],
     "help": "a named set of protocol/port services",
     "properties": {"services": {"type": "list<fw_service>", "required": true}}},
    {"name": "address-group", "plural": "address-groups", "short": "ag", "parents": ["project", ""],
     "help": "a named set of prefixes",
     "properties": {"prefixes": "list<cidr>"},
     "refs": {"tag_refs": {"to": "tag"}}},
    {"name": "floating-ip-pool", "plural": "floating-ip-pools", "short": "fipp", "parents": ["virtual-network"],
     "help": "addresses of a (usually external) network that ports elsewhere may borrow",
     "properties": {"subnet_uuids": {"type": "list<uuid>", "help": "restrict to these subnets of the network"}}},
    {"name": "floating-ip", "plural": "floating-ips", "short": "fip", "parents": ["floating-ip-pool"],
     "help": "a NAT address from a pool, bound to a port",
     "properties": {
       "floating_ip_address":          {"type": "ip", "help": "allocated if absent"},
       "floating_ip_fixed_ip_address": "ip",
       "floating_ip_address_family":   {"enum": ["v4", "v6"]}
     },
     "refs": {
       "virtual_machine_interface_refs": {"to": "virtual-machine-interface"},
       "project_refs":                   {"to": "project"}
     }},
    {"name": "bgp-router", "plural": "bgp-routers", "short": "bgp", "parents": [""],
     "help": "a BGP speaker (control node or gateway) and its peers",
     "properties": {"bgp_router_parameters": {"type": "bgp_router_params", "required": true}},
     "refs": {"bgp_router_refs": {"to": "bgp-router", "attr": "bgp_session"}}}
  ]
}
)json";
}  // namespace vrf::schema
