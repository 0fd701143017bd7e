#pragma once
// Rule combination: ANDs a pair's layers into disjoint destination-port intervals per
// protocol and writes them as rule LPM entries.
#include <vector>

#include "layers.h"

namespace vrfabric::policy::detail {

void emit_pair(const std::vector<Layer>& layers, uint32_t src_epg, uint32_t dst_epg, RuleIds& ids,
               uint32_t no_policy_id, std::vector<RuleEntry>& out);

}  // namespace vrfabric::policy::detail
