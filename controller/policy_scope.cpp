#include "controller/policy_scope.h"

namespace vrf {

using json = nlohmann::json;

json policy_for_host(const json& compiled, const std::set<std::string>& vrfs, const std::set<std::string>& interfaces) {
  if (!compiled.is_object()) return compiled;
  json out = compiled;
  json epgs = json::array(), rules = json::array();
  std::set<uint32_t> groups;
  for (auto& e : compiled.value("epgs", json::array()))
    if (vrfs.count(e.value("vrf", ""))) {
      groups.insert(e.value("epg", 0u));
      epgs.push_back(e);
    }
  std::set<std::string> rule_ids = {"0"};  // the default deny is always named
  for (auto& r : compiled.value("rules", json::array()))
    if (groups.count(r.value("src_epg", 0u)) && groups.count(r.value("dst_epg", 0u))) {
      rule_ids.insert(std::to_string(r.value("rule_id", 0u)));
      rules.push_back(r);
    }
  out["epgs"] = std::move(epgs);
  out["rules"] = std::move(rules);
  auto keep = [&](const char* field, auto wanted) {
    if (!compiled.contains(field)) return;
    const json& in = compiled[field];
    json kept = in.is_array() ? json::array() : json::object();
    if (in.is_array()) {
      for (auto& v : in)
        if (v.is_string() && wanted(v.get<std::string>())) kept.push_back(v);
    } else if (in.is_object()) {
      for (auto& [k, v] : in.items())
        if (wanted(k)) kept[k] = v;
    }
    out[field] = std::move(kept);
  };
  keep("descriptions", [&](const std::string& id) { return rule_ids.count(id) > 0; });
  // Analyzers of its rules, and its own analyzer ports: copies arrive for those from elsewhere.
  if (compiled.contains("analyzers") && compiled["analyzers"].is_object()) {
    json kept = json::object();
    for (auto& [id, tap] : compiled["analyzers"].items())
      if (rule_ids.count(id) || (tap.is_string() && interfaces.count(tap.get<std::string>()))) kept[id] = tap;
    out["analyzers"] = std::move(kept);
  }
  keep("interfaces", [&](const std::string& name) { return interfaces.count(name) > 0; });
  keep("connections", [&](const std::string& net) { return vrfs.count(net) > 0; });
  return out;
}

}  // namespace vrf
