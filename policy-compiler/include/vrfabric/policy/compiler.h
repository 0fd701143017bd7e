#pragma once
// vrpolicy: compiles network policies, security groups and application policy sets into the
// forwarder's two tables (see bpf/vr_abi.h, "Policy (issue 6)"):
//   1. EPG LPM: (VRF, address prefix) -> endpoint group
//   2. rule LPM: (src EPG, dst EPG, protocol, destination-port prefix) -> action, rule id
// so that a new flow costs two address lookups and at most two rule lookups, whatever the
// number of configured rules.
//
// Semantics (what the tables encode; tests check them against a direct interpretation):
//  * A flow's first packet is allowed iff every applicable layer allows it:
//      - source interface's security groups, egress rules (if it has any SG),
//      - destination interface's security groups, ingress rules (if it has any SG),
//      - network policies: same network: allowed unless the first matching rule of the
//        network's attached policies denies; different networks: the first matching rule of
//        the source network's attached policies AND of the destination network's must pass
//        (no match: deny), so a policy attached to one side only denies,
//      - each application-policy-set that applies to the source or to the destination
//        (bound to an application tag the endpoint carries, or all_applications): its first
//        matching firewall rule, by policy sequence then rule sequence, must pass (no match:
//        deny).
//    No applicable layer: allowed. Security-group rules are allow rules; any match allows.
//  * Return traffic is the flow table's business: only the first packet's direction is decided.
//  * Addresses that are no endpoint belong to "external" groups defined by the CIDRs that SG
//    rules and address groups name (plus 0.0.0.0/0 and ::/0): they carry no network, tags or
//    SGs. Flows with no endpoint at either end are not compiled: they are denied.
//  * Default: no rule entry -> deny (rule id 0). Only passes are stored, plus the exact-protocol
//    denies needed to shadow a pass of the same pair stored under VR_PROTO_ANY.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "vrfabric/policy/model.h"
#include "vrfabric/policy/tags.h"

namespace vrfabric::policy {

inline constexpr uint32_t kDefaultDenyRuleId = 0;

struct Epg {
  uint32_t id = 0;
  Family family = Family::V4;
  std::string network;                      // empty: external addresses
  TagSet tags;
  std::vector<std::string> security_groups;
  std::vector<Prefix> cidrs;                // referenced CIDRs containing the group's addresses
  std::vector<std::string> interfaces;      // members (endpoint groups)
  std::string description;                  // short human form, for CLI output
};

struct EpgEntry {                           // -> struct vr_epg4_key / vr_epg6_key
  uint32_t vrf = 0;
  Prefix prefix;
  uint32_t epg = 0;
};

struct InterfaceEpg {
  std::string interface;
  std::string network;
  uint32_t vrf = 0;
  std::vector<std::pair<Address, uint32_t>> addresses;  // each address and its EPG
  // Some layer can decide a flow of this interface: it has security groups, its network has
  // policies attached, or an application policy set applies to it. An interface that is not
  // under policy leaves its flows to the other end's (they pass when neither end is).
  bool under_policy = false;
};

struct RuleEntry {                          // -> struct vr_rule_key + struct vr_rule
  uint32_t src_epg = 0;
  uint32_t dst_epg = 0;
  uint8_t protocol = kAnyProtocol;
  uint16_t port = 0;                        // first port of the prefix (host order)
  uint8_t port_len = 16;                    // 0..16
  Action action = Action::Deny;
  uint32_t rule_id = 0;
};

struct CompiledPolicy {
  std::map<std::string, uint32_t> vrfs;     // network fq_name -> VRF id
  // network -> the other networks a policy connects it to: their routes are leaked into its
  // VRF (and their endpoints' groups are installed there), as Tungsten Fabric does.
  std::map<std::string, std::set<std::string>> connections;
  std::vector<Epg> epgs;                    // epgs[i].id == i + 1
  std::vector<InterfaceEpg> interfaces;
  std::vector<EpgEntry> epg_entries;
  std::vector<RuleEntry> rules;
  std::map<uint32_t, std::string> rule_descriptions;  // rule_id -> which rule(s) decided
  std::map<uint32_t, std::string> mirrors;  // rule_id of a mirroring pass -> analyzer interface
};

CompiledPolicy compile(const PolicyInput& input);  // throws PolicyError on bad input

struct Decision {
  Action action = Action::Deny;
  uint32_t rule_id = kDefaultDenyRuleId;
  uint32_t src_epg = 0;                     // 0 (VR_EPG_NONE): no group, the flow bypasses policy
  uint32_t dst_epg = 0;
  bool operator==(const Decision&) const = default;
};

// What the datapath does for a flow's first packet: EPG LPM lookups of both addresses in the
// VRF, then the rule LPM with the exact protocol, then with VR_PROTO_ANY, else default deny.
// An address without EPG means no policy: Pass with rule id 0.
Decision evaluate(const CompiledPolicy& compiled, uint32_t vrf, const Address& src,
                  const Address& dst, uint8_t protocol, uint16_t dport);

}  // namespace vrfabric::policy
