#include "vrfabric/bgp/policy.h"

#include <algorithm>

namespace vrfabric::bgp::policy {

RoutePolicy matchRouteTargets(std::vector<ExtCommunity> targets) {
  return [targets = std::move(targets)](const PolicyContext&, const Nlri&, PathAttributes& a) {
    for (const auto& c : a.extCommunities)
      if (c.isRouteTarget() && std::find(targets.begin(), targets.end(), c) != targets.end()) return true;
    return false;
  };
}

RoutePolicy matchFamilies(std::vector<Family> families) {
  return [families = std::move(families)](const PolicyContext&, const Nlri& n, PathAttributes&) {
    return std::find(families.begin(), families.end(), familyOf(n)) != families.end();
  };
}

RoutePolicy setLocalPref(uint32_t value) {
  return [value](const PolicyContext&, const Nlri&, PathAttributes& a) {
    a.localPref = value;
    return true;
  };
}

RoutePolicy addExtCommunities(std::vector<ExtCommunity> communities) {
  return [communities = std::move(communities)](const PolicyContext&, const Nlri&, PathAttributes& a) {
    for (const auto& c : communities)
      if (std::find(a.extCommunities.begin(), a.extCommunities.end(), c) == a.extCommunities.end())
        a.extCommunities.push_back(c);
    return true;
  };
}

RoutePolicy allOf(std::vector<RoutePolicy> policies) {
  return [policies = std::move(policies)](const PolicyContext& ctx, const Nlri& n, PathAttributes& a) {
    for (const auto& p : policies)
      if (!p(ctx, n, a)) return false;
    return true;
  };
}

}  // namespace vrfabric::bgp::policy
