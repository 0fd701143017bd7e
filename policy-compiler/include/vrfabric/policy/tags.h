#pragma once
// Tag inheritance down the containment hierarchy project -> network -> workload -> interface.
#include <map>
#include <string>
#include <vector>

#include "vrfabric/policy/model.h"

namespace vrfabric::policy {

// Tag type -> tag fq_names, sorted. One name per type, except "label" which may hold several.
using TagSet = std::map<std::string, std::vector<std::string>>;

// The tags an interface effectively carries: for each type the value set at the lowest level
// (interface over workload over network over project); labels accumulate from every level.
// Validates the whole input first (throws PolicyError).
TagSet effective_tags(const PolicyInput& input, const std::string& interface);

}  // namespace vrfabric::policy
