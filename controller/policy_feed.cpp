#include "controller/policy_feed.h"

#include "controller/list_all.h"
#include "controller/policy_names.h"
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


using Objects = std::map<std::string, json>;  // kind -> objects as the list API gives them

// The compiler's front end reads the same documents `vrctl apply` takes; JSON is YAML.
std::string as_documents(const Objects& objects) {
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
  return text;
}

vrfabric::policy::CompiledPolicy compile_objects(const Objects& objects) {
  return vrfabric::policy::compile(vrfabric::policy::read_policy_yaml(as_documents(objects), {.strict_fields = false}));
}

bool owned_by(const json& obj, const std::string& kind, const std::string& project) {
  return kind == "project" ? obj.value("uuid", "") == project : owner_of(obj) == project;
}

// What one project's policy is compiled from on its own: its objects, global ones, and
// the shared networks of others (which it may name) without their own policies.
// A project's own objects keep no references into other projects (links the global
// admin made): the project is judged on what it owns, and its problems never name
// another project's objects.
void drop_foreign_refs(json& o, const std::set<std::string>& foreign) {
  for (auto& [k, v] : o.items())
    if (k.size() > 5 && k.compare(k.size() - 5, 5, "_refs") == 0 && v.is_array()) {
      json kept = json::array();
      for (auto& e : v)
        if (!e.is_object() || !e.contains("uuid") || !e["uuid"].is_string() || !foreign.count(e["uuid"].get<std::string>()))
          kept.push_back(e);
      v = std::move(kept);
    }
}

Objects project_view(const Objects& all, const std::string& project) {
  std::set<std::string> foreign;  // uuids of other projects' objects
  for (auto& [kind, list] : all)
    for (auto& o : list) {
      auto owner = kind == "project" ? std::optional(o.value("uuid", "")) : owner_of(o);
      if (owner && *owner != project) foreign.insert(o.value("uuid", ""));
    }
  Objects out;
  for (auto& [kind, list] : all) {
    out[kind] = json::array();
    for (auto& o : list) {
      auto owner = kind == "project" ? std::optional(o.value("uuid", "")) : owner_of(o);
      if (!owner || *owner == project) {
        out[kind].push_back(o);
        drop_foreign_refs(out[kind].back(), foreign);
      }
      else if (kind == "virtual-network" && (o.value("is_shared", false) || o.value("router_external", false))) {
        json net = o;
        net.erase("network_policy_refs");
        out[kind].push_back(std::move(net));
      }
    }
  }
  return out;
}

Objects without_projects(const Objects& all, const std::set<std::string>& projects) {
  Objects out;
  for (auto& [kind, list] : all) {
    out[kind] = json::array();
    for (auto& o : list) {
      bool dropped = false;
      for (auto& p : projects) dropped |= owned_by(o, kind, p);
      if (!dropped) out[kind].push_back(o);
    }
  }
  return out;
}

// Workload addresses of `projects` (all when empty), each pair of them without a rule:
// the datapath denies a flow between groups no rule joins.
void fail_closed(const Objects& objects, const std::set<std::string>* projects, uint32_t epg, json& epgs,
                 json& under_policy) {
  std::map<std::string, std::string> vmi_vn;
  for (auto& v : objects.at("virtual-machine-interface")) {
    if (projects && !projects->count(owner_of(v).value_or(""))) continue;
    if (v.contains("virtual_network_refs") && !v["virtual_network_refs"].empty()) {
      vmi_vn[v.value("uuid", "")] = join(v["virtual_network_refs"][0]["to"]);
      under_policy.push_back(tap_name(v.value("uuid", "")));
    }
  }
  for (auto& iip : objects.at("instance-ip"))
    for (auto& r : iip.value("virtual_machine_interface_refs", json::array()))
      if (vmi_vn.count(r.value("uuid", "")) && iip.contains("instance_ip_address")) {
        std::string a = iip["instance_ip_address"];
        epgs.push_back({{"vrf", vmi_vn[r["uuid"]]}, {"prefix", a + (a.find(':') == std::string::npos ? "/32" : "/128")},
                        {"epg", epg}});
      }
}

// The compiled policy in the form the agents' snapshots carry.
json feed_of(const vrfabric::policy::CompiledPolicy& c, const Objects& objects) {
  std::map<uint32_t, std::string> vrf_names;
  for (auto& [net, id] : c.vrfs) vrf_names[id] = net;
  json epgs = json::array(), rules = json::array(), desc = json::object();
  for (auto& e : c.epg_entries)
    if (vrf_names.count(e.vrf)) epgs.push_back({{"vrf", vrf_names[e.vrf]}, {"prefix", e.prefix.str()}, {"epg", e.epg}});
  for (auto& r : c.rules)
    rules.push_back({{"src_epg", r.src_epg}, {"dst_epg", r.dst_epg}, {"proto", r.protocol}, {"port", r.port},
                     {"port_len", r.port_len},
                     {"action", r.action != vrfabric::policy::Action::Pass ? "deny" : c.mirrors.count(r.rule_id) ? "mirror" : "pass"},
                     {"rule_id", r.rule_id}});
  for (auto& [id, text] : c.rule_descriptions) desc[std::to_string(id)] = text;
  // Analyzers by the name their veth has on whichever host they live on.
  std::map<std::string, std::string> taps;
  for (auto& v : objects.at("virtual-machine-interface")) taps[join(v["fq_name"])] = tap_name(v.value("uuid", ""));
  json analyzers = json::object(), under_policy = json::array();
  for (auto& [id, vmi] : c.mirrors) analyzers[std::to_string(id)] = taps[vmi];
  for (auto& itf : c.interfaces)
    if (itf.under_policy) under_policy.push_back(taps[itf.interface]);
  return {{"epgs", epgs},          {"rules", rules},           {"descriptions", desc},
          {"analyzers", analyzers}, {"interfaces", under_policy}, {"connections", c.connections}};
}

}  // namespace

json PolicyFeed::compiled() {
  std::lock_guard lk(mu_);
  int64_t rev = svc_.revision();
  if (rev == revision_) return cached_;
  // The policy is the fabric's, compiled from every project's objects; what one project
  // may name is confined below, not by the caller's token.
  const Principal all{"policy-feed", std::nullopt, "admin"};
  Objects objects;
  for (const char* kind : kKinds) objects[kind] = list_all(svc_, kind, all);
  bool any = false;
  for (const char* kind : kPolicyKinds) any |= !objects[kind].empty();
  json result = nullptr;
  std::vector<PolicyProblem> problems;
  if (any) {
    problems = confine_policy_names(objects);
    try {
      result = feed_of(compile_objects(objects), objects);
    } catch (const std::exception& whole) {
      result = contained(objects, whole.what(), problems);
    }
    spdlog::info("policy compiled at revision {}: {} endpoint-group entries, {} rules, {} problems", rev,
                 result["epgs"].size(), result["rules"].size(), problems.size());
  }
  revision_ = rev;
  cached_ = result;
  problems_ = std::move(problems);
  return result;
}

// One project's objects that do not compile must not switch policy off for the others:
// each project with policy is compiled on its own; those that fail are left out of the
// fabric's compile and fail closed (their workloads denied between each other and to
// anyone), the others keep their rules. Only what no project explains fails everything.
json PolicyFeed::contained(const Objects& objects, const std::string& error, std::vector<PolicyProblem>& problems) {
  std::set<std::string> owners, failed;
  for (const char* kind : kPolicyKinds)
    for (auto& o : objects.at(kind))
      if (auto p = owner_of(o)) owners.insert(*p);
  for (auto& p : owners) {
    try {
      compile_objects(project_view(objects, p));
    } catch (const std::exception& e) {
      failed.insert(p);
      std::string fq;
      for (auto& proj : objects.at("project"))
        if (proj.value("uuid", "") == p) fq = join(proj["fq_name"]);
      problems.push_back({p, p, "project", fq, "", std::string("policy does not compile: ") + e.what() +
                                                       "; this project's workloads are denied until it is fixed"});
      spdlog::error("policy of project {} does not compile: {}; denying its workloads until fixed", fq, e.what());
    }
  }
  if (!failed.empty()) {
    Objects rest = without_projects(objects, failed);
    confine_policy_names(rest);  // names into the projects left out are now dangling
    try {
      json out = feed_of(compile_objects(rest), rest);
      uint32_t epg = 1;
      for (auto& e : out["epgs"]) epg = std::max<uint32_t>(epg, e["epg"].get<uint32_t>() + 1);
      fail_closed(objects, &failed, epg, out["epgs"], out["interfaces"]);
      return out;
    } catch (const std::exception& e) {
      spdlog::error("policy without the failing projects does not compile either: {}", e.what());
    }
  }
  // Fail closed everywhere: every workload address in one group and no rule passes.
  spdlog::error("policy does not compile: {}; denying between workloads until fixed", error);
  problems.push_back({std::nullopt, "", "", "", "", std::string("fabric policy does not compile: ") + error});
  json out = {{"epgs", json::array()}, {"rules", json::array()}, {"interfaces", json::array()},
              {"descriptions", {{"0", std::string("policy error: ") + error}}}};
  fail_closed(objects, nullptr, 1, out["epgs"], out["interfaces"]);
  return out;
}

json PolicyFeed::problems(const Principal& who) {
  compiled();
  std::lock_guard lk(mu_);
  json out = json::array();
  for (auto& p : problems_) {
    // A project sees the problems of its own objects; the global admin sees all.
    if (!who.global_admin() && (!p.project || p.project != who.project)) continue;
    json e = {{"message", p.message}};
    if (!p.kind.empty()) e["type"] = p.kind;
    if (!p.fq_name.empty()) e["fq_name"] = p.fq_name;
    if (!p.uuid.empty()) e["uuid"] = p.uuid;
    if (!p.field.empty()) e["field"] = p.field;
    out.push_back(std::move(e));
  }
  return {{"revision", revision_}, {"problems", out}};
}

}  // namespace vrf
