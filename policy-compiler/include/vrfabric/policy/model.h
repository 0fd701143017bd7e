#pragma once
// The compiler's input: the controller's policy objects, reduced to what decides a flow.
// Objects are named by their fq_name ("default-domain:finance:web-net") and refer to each
// other by those names. Addresses, prefixes and tag references stay strings here so that
// compile() validates them and reports errors naming the object and field.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "vrfabric/policy/ip.h"

namespace vrfabric::policy {

// Bad input: names the object and the field, e.g.
//   firewall-rule default-domain:finance:web-to-app: endpoint_2.tags: unknown tag "tier=ap"
class PolicyError : public std::runtime_error {
 public:
  PolicyError(const std::string& object, const std::string& field, const std::string& message)
      : std::runtime_error(object + ": " + field + ": " + message) {}
};

enum class Action : uint8_t { Deny, Pass };
// ">" (endpoint 1 / source to endpoint 2 / destination), "<" (the reverse) and "<>" (either way;
// the service's destination ports apply to the first packet in both directions).
enum class Direction : uint8_t { Forward, Reverse, Both };
enum class SgDirection : uint8_t { Ingress, Egress };

inline constexpr uint8_t kAnyProtocol = 0;  // VR_PROTO_ANY

// Destination port range, inclusive. int so that out-of-range input (70000, -1) reaches
// validation instead of wrapping.
struct PortRange {
  int lo = 0;
  int hi = 65535;
  bool operator==(const PortRange&) const = default;
};

// A reference with an ordering key (controller: ref attr {sequence: "1.0"}).
struct SequencedRef {
  std::string name;
  double sequence = 0;
};

struct Project {
  std::string name;
  std::vector<std::string> tags;  // tag fq_names
};

struct Network {
  std::string name;
  std::string project;                    // empty: the fq_name's parent
  uint32_t vrf = 0;                       // 0: assigned by compile()
  std::vector<std::string> tags;
  std::vector<SequencedRef> policies;     // attached network-policies
};

struct Workload {                         // virtual-machine (VM, container, pod)
  std::string name;
  std::vector<std::string> tags;
};

struct Interface {                        // virtual-machine-interface
  std::string name;
  std::string network;
  std::string workload;                   // may be empty
  std::string project;                    // empty: the fq_name's parent
  std::vector<std::string> addresses;     // instance-ip addresses, v4 and v6
  std::vector<std::string> allowed_pairs; // allowed address pair prefixes: in the port's group too
  std::vector<std::string> tags;
  std::vector<std::string> security_groups;
};

struct SecurityGroupRule {
  SgDirection direction = SgDirection::Ingress;
  Family ethertype = Family::V4;
  uint8_t protocol = kAnyProtocol;
  std::string remote_cidr;                // at most one of remote_cidr / remote_group;
  std::string remote_group;               // neither: any address of the ethertype
  std::vector<PortRange> ports;           // empty: all ports
};

struct SecurityGroup {
  std::string name;
  std::vector<SecurityGroupRule> rules;
};

struct NetworkPolicyRule {
  Direction direction = Direction::Forward;
  uint8_t protocol = kAnyProtocol;
  std::vector<std::string> src_networks;  // network fq_names or "any"
  std::vector<std::string> dst_networks;
  std::vector<PortRange> src_ports;       // must be all ports: the datapath keys on dport only
  std::vector<PortRange> dst_ports;       // empty: all ports
  Action action = Action::Pass;
  std::string mirror_to;                  // analyzer interface (fq_name) copied the flow's packets
};

struct NetworkPolicy {
  std::string name;
  std::vector<NetworkPolicyRule> rules;
};

inline constexpr const char* kBuiltinTagTypes[] = {"application", "tier", "deployment", "site",
                                                   "label"};

struct Tag {
  std::string name;  // fq_name, e.g. "default-domain:finance:tier=web" or global "tier=web"
  std::string type;  // builtin or a declared custom type
  std::string value;
};

struct Service {
  uint8_t protocol = kAnyProtocol;
  PortRange src_ports;  // must be all ports
  PortRange dst_ports;
};

struct ServiceGroup {
  std::string name;
  std::vector<Service> services;
};

struct AddressGroup {
  std::string name;
  std::vector<std::string> prefixes;
};

// One side of a firewall rule. Every condition given must hold (tags: all of them).
struct FirewallEndpoint {
  std::vector<std::string> tags;  // tag fq_names
  bool any = false;
  std::string address_group;
  std::string virtual_network;
};

struct FirewallRule {
  std::string name;
  Action action = Action::Pass;
  Direction direction = Direction::Forward;
  std::vector<Service> services;             // inline service(s)
  std::vector<std::string> service_groups;   // and/or service-group refs; none at all: any
  FirewallEndpoint endpoint_1, endpoint_2;
  std::vector<std::string> match_tags;       // tag types whose values must be equal on both ends
  std::string mirror_to;                     // analyzer interface (fq_name) copied the flow's packets
};

struct FirewallPolicy {
  std::string name;
  std::vector<SequencedRef> rules;  // firewall-rule refs; sequences must be distinct
};

struct ApplicationPolicySet {
  std::string name;
  bool all_applications = false;         // global: applies to every endpoint
  std::vector<std::string> tags;         // application tags it is bound to
  std::vector<SequencedRef> policies;    // firewall-policy refs
};

struct PolicyInput {
  std::vector<Project> projects;
  std::vector<Network> networks;
  std::vector<Workload> workloads;
  std::vector<Interface> interfaces;
  std::vector<SecurityGroup> security_groups;
  std::vector<NetworkPolicy> network_policies;
  std::vector<std::string> custom_tag_types;  // tag types beyond kBuiltinTagTypes
  std::vector<Tag> tags;
  std::vector<ServiceGroup> service_groups;
  std::vector<AddressGroup> address_groups;
  std::vector<FirewallRule> firewall_rules;
  std::vector<FirewallPolicy> firewall_policies;
  std::vector<ApplicationPolicySet> application_policy_sets;
};

// "tcp", "udp", "icmp", "icmp6", "any" or a number 1..255; nullopt otherwise.
std::optional<uint8_t> parse_protocol(std::string_view name);
std::string protocol_name(uint8_t proto);

}  // namespace vrfabric::policy
