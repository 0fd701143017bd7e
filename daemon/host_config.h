#pragma once
// Desired state of one host as the controller sends it, and the reconciliation that makes
// the agent match it: whatever the agent holds that the snapshot does not name is removed,
// so a reconnect after missed changes converges by construction. A port is plugged only
// once the host's runtime has attached its uuid to a namespace (port_bindings.h).
//
// Snapshot (JSON):
//   {"revision": N,
//    "vrfs": [{"name", "vni", "route_target", "encap", "gateways": ["10.1.1.1", "fd00::1"]}],
//    "interfaces": [{"name", "uuid", "vrf", "mac", "ips": [...],
//                    "allowed_pairs": [{"prefix": "a/len", "mac"}],  (mac absent: the port's own)
//                    "dhcp": {"address": "a/len", "gateway", "dns": [...], "mtu"}}],
//    "policy": {...}}   (compiled policy, see policy_spec() in request.h; absent = none)
#include <nlohmann/json.hpp>
#include <string>

#include "agent_state.h"

namespace vrfabric {

struct ReconcileReport {
  int added = 0, removed = 0, failed = 0;
  std::vector<std::string> errors;  // per object: kept and retried at the next snapshot
};

// Validates the whole snapshot first (throws AgentError naming the object and field), then
// applies it. Objects that fail to apply (e.g. a workload namespace not made yet) are
// reported; applying the same snapshot again retries them.
ReconcileReport reconcile(AgentState& state, const nlohmann::json& snapshot);

}  // namespace vrfabric
