#pragma once
// Human (text) and machine (JSON) renderings of compiled tables, for vr-policyc and vrctl.
#include <nlohmann/json.hpp>
#include <string>

#include "vrfabric/policy/compiler.h"

namespace vrfabric::policy {

std::string format_text(const CompiledPolicy& c);
nlohmann::json to_json(const CompiledPolicy& c);

}  // namespace vrfabric::policy
