#pragma once
// Validated view of a PolicyInput: every reference resolved, every string parsed. Built once
// by build_index(), which throws PolicyError on the first problem it finds.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "vrfabric/policy/model.h"

namespace vrfabric::policy::detail {

struct Index {
  const PolicyInput* input = nullptr;
  std::map<std::string, const Project*> projects;
  std::map<std::string, const Network*> networks;
  std::map<std::string, const Workload*> workloads;
  std::map<std::string, const Interface*> interfaces;
  std::map<std::string, const SecurityGroup*> security_groups;
  std::map<std::string, const NetworkPolicy*> network_policies;
  std::map<std::string, const Tag*> tags;
  std::set<std::string> tag_types;
  std::map<std::string, const ServiceGroup*> service_groups;
  std::map<std::string, const AddressGroup*> address_groups;
  std::map<std::string, const FirewallRule*> firewall_rules;
  std::map<std::string, const FirewallPolicy*> firewall_policies;

  std::map<std::string, uint32_t> vrf;                           // network -> VRF id
  std::map<std::string, std::vector<Address>> addresses;         // interface -> addresses
  std::map<std::string, std::vector<Prefix>> allowed_pairs;      // interface -> allowed address pairs
  std::map<std::string, std::vector<Prefix>> group_prefixes;     // address-group -> prefixes
  // (security group, rule index) -> parsed remote_cidr, when the rule has one
  std::map<std::pair<std::string, size_t>, Prefix> sg_remote_cidr;

  const Tag& tag(const std::string& name) const { return *tags.at(name); }
};

Index build_index(const PolicyInput& in);

// The project an object belongs to: explicit, else its fq_name's parent ("a:b:c" -> "a:b").
std::string parent_of(const std::string& fq_name);
// The last fq_name component, for readable descriptions ("a:b:web-net" -> "web-net").
std::string short_name(const std::string& fq_name);
// A sequence as written: 1 -> "1", 2.5 -> "2.5".
std::string sequence_text(double sequence);

}  // namespace vrfabric::policy::detail
