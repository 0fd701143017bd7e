#include "tags.h"

#include <algorithm>

namespace vrfabric::policy {
namespace detail {

TagSet effective_tags(const Index& ix, const Interface& itf) {
  // Highest level first, so that each lower level overwrites what it redefines.
  std::vector<const std::vector<std::string>*> levels;
  std::string project = itf.project.empty() ? parent_of(itf.name) : itf.project;
  if (auto p = ix.projects.find(project); p != ix.projects.end()) levels.push_back(&p->second->tags);
  levels.push_back(&ix.networks.at(itf.network)->tags);
  if (!itf.workload.empty()) levels.push_back(&ix.workloads.at(itf.workload)->tags);
  levels.push_back(&itf.tags);

  TagSet out;
  for (const auto* refs : levels) {
    for (const auto& name : *refs) {
      const Tag& t = ix.tag(name);
      auto& slot = out[t.type];
      if (t.type == "label") {
        if (std::find(slot.begin(), slot.end(), name) == slot.end()) slot.push_back(name);
      } else {
        slot = {name};
      }
    }
  }
  for (auto& [type, names] : out) std::sort(names.begin(), names.end());
  return out;
}

}  // namespace detail

TagSet effective_tags(const PolicyInput& input, const std::string& interface) {
  auto ix = detail::build_index(input);
  auto it = ix.interfaces.find(interface);
  if (it == ix.interfaces.end())
    throw PolicyError("virtual-machine-interface " + interface, "name", "not defined");
  return detail::effective_tags(ix, *it->second);
}

}  // namespace vrfabric::policy
