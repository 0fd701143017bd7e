#include "netpolicy.h"

#include <algorithm>

namespace vrfabric::policy::detail {

static bool names(const std::vector<std::string>& list, const std::string& network) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& n) { return n == "any" || n == network; });
}

bool covers(const NetworkPolicyRule& rule, const std::string& src, const std::string& dst) {
  bool forward = names(rule.src_networks, src) && names(rule.dst_networks, dst);
  bool reverse = names(rule.src_networks, dst) && names(rule.dst_networks, src);
  switch (rule.direction) {
    case Direction::Forward: return forward;
    case Direction::Reverse: return reverse;
    case Direction::Both: return forward || reverse;
  }
  return false;
}

std::vector<const NetworkPolicy*> attached_policies(const Index& ix, const std::string& network) {
  auto refs = ix.networks.at(network)->policies;
  std::stable_sort(refs.begin(), refs.end(),
                   [](const SequencedRef& a, const SequencedRef& b) { return a.sequence < b.sequence; });
  std::vector<const NetworkPolicy*> out;
  for (const auto& r : refs) out.push_back(ix.network_policies.at(r.name));
  return out;
}

// Some pass rule of `network`'s policies lets traffic go between it and `other`, either way.
static bool passes_between(const Index& ix, const std::string& network, const std::string& other) {
  for (const auto* p : attached_policies(ix, network))
    for (const auto& r : p->rules)
      if (r.action == Action::Pass && (covers(r, network, other) || covers(r, other, network)))
        return true;
  return false;
}

std::map<std::string, std::set<std::string>> connected_networks(const Index& ix) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [a, na] : ix.networks) {
    out[a].insert(a);
    for (const auto& [b, nb] : ix.networks)
      if (a < b && passes_between(ix, a, b) && passes_between(ix, b, a)) {
        out[a].insert(b);
        out[b].insert(a);
      }
  }
  return out;
}

}  // namespace vrfabric::policy::detail
