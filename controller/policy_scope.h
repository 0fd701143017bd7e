#pragma once
// What one host needs of the compiled policy: the endpoint groups of its VRFs, the rules
// between groups it can see, and the descriptions, analyzers and interfaces they name.
// Each agent gets only that, so a change that does not concern a host leaves its tables
// (and its flows) alone: the agent sees the same policy and writes nothing.
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace vrf {

// compiled: PolicyFeed::compiled() (null: no policy). vrfs: the host's networks;
// interfaces: the host's ports (veth names).
nlohmann::json policy_for_host(const nlohmann::json& compiled, const std::set<std::string>& vrfs,
                               const std::set<std::string>& interfaces);

}  // namespace vrf
