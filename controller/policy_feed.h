#pragma once
// Compiles the whole configuration's policy (network policies, security groups, tag-based
// application policy sets) with the policy compiler, once per revision, into the form the
// agents' snapshots carry: endpoint groups by network name, rules, rule descriptions.
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "controller/policy_names.h"
#include "controller/service.h"

namespace vrf {

class PolicyFeed {
 public:
  explicit PolicyFeed(ConfigService& svc) : svc_(svc) {}
  // null when no policy object exists: agents then leave the flow table out of the path.
  json compiled();
  // What the last compile left out or could not compile, of the objects `who` may see.
  json problems(const Principal& who);

 private:
  ConfigService& svc_;
  std::mutex mu_;
  int64_t revision_ = -1;
  json cached_;
  std::vector<PolicyProblem> problems_;

  json contained(const std::map<std::string, json>& objects, const std::string& error,
                 std::vector<PolicyProblem>& problems);
};

}  // namespace vrf
