#include "controller/list_all.h"
#include "controller/policy_feed.h"
#include "controller/tap_name.h"

#include <spdlog/spdlog.h>

#include "vrfabric/policy/compiler.h"
#include "vrfabric/policy/yaml.h"

namespace vrf {

namespace {

// The kinds the compiler reads, in the controller's own object model.
const char* kKinds[] = {"project", "virtual-network", "virtual-machine", "virtual-machine-interface", "instance-ip",
                        "security-group", "network-policy", "tag", "service-group", "address-group",
                        "firewall-rule", "firewall-policy", "application-policy-set"};
const char* kPolicyKinds[] = {"security-group", "network-policy", "application-policy-set"};

// Fields that are bookkeeping of the store, not configuration.
const char* kMeta[] = {"uuid", "href", "revision", "created_at", "updated_at", "parent_uuid", "parent_type",
                       "display_name", "description", "id_perms", "perms2"};

std::string join(const json& fq) {
  std::string s;
  for (auto& p : fq) s += (s.empty() ? "" : ":") + p.get<std::string>();
  return s;
}

}  // namespace

json PolicyFeed::compiled(const Principal& who) {
  std::lock_guard lk(mu_);
  int64_t rev = svc_.revision();
  if (rev == revision_) return cached_;
  std::map<std::string, json> objects;
  for (const char* kind : kKinds) objects[kind] = list_all(svc_, kind, who);
  bool any = false;
  for (const char* kind : kPolicyKinds) any |= !objects[kind].empty();
  json result = nullptr;
  if (any) {
    // The compiler's front end reads the same documents `vrctl apply` takes; JSON is YAML.
    std::string text;
    for (auto& [kind, list] : objects)
      for (auto obj : list) {
        if (kind == "instance-ip" && !obj.contains("instance_ip_address")) continue;
        for (const char* m : kMeta) obj.erase(m);
        for (auto& [k, v] : obj.items())
          if (k.size() > 5 && k.compare(k.size() - 5, 5, "_refs") == 0)
            for (auto& r : v) {
              r.erase("uuid");
              r.erase("href");
              if (r.contains("to") && r["to"].is_array()) r["to"] = join(r["to"]);
            }
        obj["fq_name"] = join(obj["fq_name"]);
        obj["kind"] = kind;
        text += "---\n" + obj.dump() + "\n";
      }
    try {
      auto c = vrfabric::policy::compile(vrfabric::policy::read_policy_yaml(text));
      std::map<uint32_t, std::string> vrf_names;
      for (auto& [net, id] : c.vrfs) vrf_names[id] = net;
      json epgs = json::array(), rules = json::array(), desc = json::object();
      for (auto& e : c.epg_entries)
        if (vrf_names.count(e.vrf)) epgs.push_back({{"vrf", vrf_names[e.vrf]}, {"prefix", e.prefix.str()}, {"epg", e.epg}});
      for (auto& r : c.rules)
        rules.push_back({{"src_epg", r.src_epg}, {"dst_epg", r.dst_epg}, {"proto", r.protocol}, {"port", r.port},
                         {"port_len", r.port_len}, {"action", r.action != vrfabric::policy::Action::Pass ? "deny" : c.mirrors.count(r.rule_id) ? "mirror" : "pass"},
                         {"rule_id", r.rule_id}});
      for (auto& [id, text2] : c.rule_descriptions) desc[std::to_string(id)] = text2;
      // Analyzers by the name their veth has on whichever host they live on.
      std::map<std::string, std::string> taps;
      for (auto& v : objects["virtual-machine-interface"]) taps[join(v["fq_name"])] = tap_name(v.value("uuid", ""));
      json analyzers = json::object(), under_policy = json::array();
      for (auto& [id, vmi] : c.mirrors) analyzers[std::to_string(id)] = taps[vmi];
      for (auto& itf : c.interfaces)
        if (itf.under_policy) under_policy.push_back(taps[itf.interface]);
      result = {{"epgs", epgs},
                {"rules", rules},
                {"descriptions", desc},
                {"analyzers", analyzers},
                {"interfaces", under_policy},
                {"connections", c.connections}};
      spdlog::info("policy compiled at revision {}: {} endpoint-group entries, {} rules", rev, epgs.size(), rules.size());
    } catch (const std::exception& e) {
      // Fail closed: every workload address in a group of its own and no rule passes.
      spdlog::error("policy does not compile at revision {}: {}; denying between workloads until fixed", rev, e.what());
      json epgs = json::array();
      std::map<std::string, std::string> vmi_vn;
      for (auto& v : objects["virtual-machine-interface"])
        if (v.contains("virtual_network_refs") && !v["virtual_network_refs"].empty())
          vmi_vn[v.value("uuid", "")] = join(v["virtual_network_refs"][0]["to"]);
      for (auto& iip : objects["instance-ip"])
        for (auto& r : iip.value("virtual_machine_interface_refs", json::array()))
          if (vmi_vn.count(r.value("uuid", "")) && iip.contains("instance_ip_address")) {
            std::string a = iip["instance_ip_address"];
            epgs.push_back({{"vrf", vmi_vn[r["uuid"]]}, {"prefix", a + (a.find(':') == std::string::npos ? "/32" : "/128")},
                            {"epg", 1}});
          }
      result = {{"epgs", epgs}, {"rules", json::array()}, {"descriptions", {{"0", std::string("policy error: ") + e.what()}}}};
    }
  }
  revision_ = rev;
  cached_ = result;
  return result;
}

}  // namespace vrf
