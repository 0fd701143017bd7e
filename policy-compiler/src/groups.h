#pragma once
// Endpoint groups: every address maps to the group of everything policy can tell apart about
// it, so that a decision per pair of groups is a decision per pair of addresses.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "index.h"
#include "vrfabric/policy/compiler.h"

namespace vrfabric::policy::detail {

struct Groups {
  std::vector<Epg> epgs;                         // epgs[i].id == i + 1
  std::vector<InterfaceEpg> interfaces;
  std::vector<EpgEntry> entries;
  std::map<std::string, std::set<std::string>> connected;  // see connected_networks()
};

// Group identity: address family, network (empty: external), effective tags, security groups
// and the referenced CIDRs (SG remote_cidr, address-group prefixes, 0/0 and ::/0) containing
// the address. Family and CIDRs are part of it because a v4 and a v6 address of one interface,
// or two addresses of one interface in different referenced CIDRs, can get different verdicts.
// External groups do not depend on the VRF, so one group serves every VRF.
Groups build_groups(const Index& ix);

}  // namespace vrfabric::policy::detail
