#pragma once
// Conversion of compiled tables to the forwarder's map layouts (bpf/vr_abi.h).
#include <vector>

#include "vr_abi.h"
#include "vrfabric/policy/compiler.h"

namespace vrfabric::policy {

struct AbiEpg4 { vr_epg4_key key; __u32 epg; };
struct AbiEpg6 { vr_epg6_key key; __u32 epg; };
struct AbiRule { vr_rule_key key; vr_rule value; };

struct AbiTables {
  std::vector<AbiEpg4> epg4;
  std::vector<AbiEpg6> epg6;
  std::vector<AbiRule> rules;
};

vr_rule_key to_abi_key(const RuleEntry& r);
AbiTables to_abi(const CompiledPolicy& compiled);

}  // namespace vrfabric::policy
