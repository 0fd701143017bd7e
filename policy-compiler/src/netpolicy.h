#pragma once
// Network-policy matching shared by the group builder (which VRFs see which endpoints) and
// the rule layers.
#include <map>
#include <set>
#include <string>

#include "index.h"

namespace vrfabric::policy::detail {

// Does the rule cover first packets from network `src` to network `dst` (ports aside)?
bool covers(const NetworkPolicyRule& rule, const std::string& src, const std::string& dst);

// Network -> networks whose endpoints are reachable from it (itself included): two different
// networks are connected when each has an attached policy with a pass rule between them.
// Only then do their endpoints' addresses go into each other's VRF.
std::map<std::string, std::set<std::string>> connected_networks(const Index& ix);

// The network's attached policies in sequence order (attachment order breaks ties).
std::vector<const NetworkPolicy*> attached_policies(const Index& ix, const std::string& network);

}  // namespace vrfabric::policy::detail
