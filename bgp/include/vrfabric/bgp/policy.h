// Per-peer import/export policy hooks. A hook sees the route and may edit its
// attributes; returning false rejects it. Hooks run on the speaker's loop thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vrfabric/bgp/message.h"

namespace vrfabric::bgp {

struct PolicyContext {
  std::string peer;   // peer address as text
  uint32_t peerAs = 0;
  bool ibgp = false;
};

using RoutePolicy = std::function<bool(const PolicyContext&, const Nlri&, PathAttributes&)>;

// Ready-made policies for the common cases; combine with allOf().
namespace policy {
// Accept only routes carrying at least one of the route targets (VRF import).
RoutePolicy matchRouteTargets(std::vector<ExtCommunity> targets);
// Accept only these families.
RoutePolicy matchFamilies(std::vector<Family> families);
// Set LOCAL_PREF on accepted routes.
RoutePolicy setLocalPref(uint32_t value);
// Add extended communities (e.g. an export route target).
RoutePolicy addExtCommunities(std::vector<ExtCommunity> communities);
// Every policy must accept; edits apply in order.
RoutePolicy allOf(std::vector<RoutePolicy> policies);
}  // namespace policy

}  // namespace vrfabric::bgp
