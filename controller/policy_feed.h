#pragma once
// Compiles the whole configuration's policy (network policies, security groups, tag-based
// application policy sets) with the policy compiler, once per revision, into the form the
// agents' snapshots carry: endpoint groups by network name, rules, rule descriptions.
#include <mutex>
#include <optional>

#include "controller/service.h"

namespace vrf {

class PolicyFeed {
 public:
  explicit PolicyFeed(ConfigService& svc) : svc_(svc) {}
  // null when no policy object exists: agents then leave the flow table out of the path.
  json compiled(const Principal& who);

 private:
  ConfigService& svc_;
  std::mutex mu_;
  int64_t revision_ = -1;
  json cached_;
};

}  // namespace vrf
