#include "controller/policy_names.h"

#include <set>

#include "controller/errors.h"

namespace vrf {

namespace {

const char* kNetwork = "virtual-network";
const char* kPort = "virtual-machine-interface";

std::string join(const json& fq) {
  std::string s;
  for (auto& p : fq) s += (s.empty() ? "" : ":") + p.get<std::string>();
  return s;
}

std::string indexed(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

void visit(json& parent, const char* key, const std::string& path, const char* kind,
           const std::function<void(const PolicyName&)>& f) {
  if (!parent.is_object() || !parent.contains(key) || !parent[key].is_string()) return;
  json& v = parent[key];
  if (v == "any") return;
  f({path + "." + key, kind, &v});
}

void visit_list(json& parent, const char* key, const std::string& path, const char* kind,
                const std::function<void(const PolicyName&)>& f, bool only_fq_names = false) {
  if (!parent.is_object() || !parent.contains(key) || !parent[key].is_array()) return;
  json& list = parent[key];
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i] == "any") continue;
    // A tag given as TYPE=VALUE is resolved in the rule's own project first, then among
    // global tags: it cannot reach another project. Only full fq_names are names here.
    if (only_fq_names && list[i].get<std::string>().find(':') == std::string::npos) continue;
    f({indexed(path + "." + key, i), kind, &list[i]});
  }
}

// The project part ("domain:project") of an fq_name string, if it has one.
std::string project_part(const std::string& fq) {
  auto a = fq.find(':');
  if (a == std::string::npos) return {};
  auto b = fq.find(':', a + 1);
  return b == std::string::npos ? fq : fq.substr(0, b);
}

}  // namespace

void for_each_policy_name(const std::string& kind, json& obj, const std::function<void(const PolicyName&)>& f) {
  if (kind == "network-policy" || kind == "security-group") {
    if (!obj.contains("rules") || !obj["rules"].is_array()) return;
    json& rules = obj["rules"];
    for (size_t i = 0; i < rules.size(); ++i) {
      std::string path = indexed("rules", i);
      if (kind == "network-policy") {
        visit_list(rules[i], "src_networks", path, kNetwork, f);
        visit_list(rules[i], "dst_networks", path, kNetwork, f);
        visit(rules[i], "mirror_to", path, kPort, f);
      } else {
        visit(rules[i], "remote_group", path, "security-group", f);
      }
    }
  } else if (kind == "firewall-rule") {
    for (const char* ep : {"endpoint_1", "endpoint_2"}) {
      if (!obj.contains(ep)) continue;
      visit(obj[ep], "virtual_network", ep, kNetwork, f);
      visit(obj[ep], "address_group", ep, "address-group", f);
      visit_list(obj[ep], "tags", ep, "tag", f, true);
    }
    if (obj.contains("mirror_to") && obj["mirror_to"].is_string()) f({"mirror_to", kPort, &obj["mirror_to"]});
  }
}

std::optional<std::string> name_refused(const std::optional<std::string>& owner, const std::string& kind,
                                        const std::string& fq, const NameLookup& lookup, bool missing_is_refused) {
  if (!owner) return std::nullopt;
  auto named = lookup(kind, fq);
  if (kind == kPort) {
    if (named && named->project == owner) return std::nullopt;
    return "analyzer " + fq + " is not a port of this project";
  }
  if (named && (!named->project || named->project == owner || (kind == kNetwork && named->shared)))
    return std::nullopt;
  if (!named) {
    auto proj = lookup("project", project_part(fq));
    if (proj && proj->project == owner) {
      if (!missing_is_refused) return std::nullopt;
      return kind + " " + fq + " does not exist";
    }
  }
  return kind + " " + fq + " is neither of this project" + (kind == kNetwork ? " nor shared with it" : "");
}

void check_policy_names(const std::string& kind, json& obj, const std::optional<std::string>& owner,
                        const NameLookup& lookup) {
  for_each_policy_name(kind, obj, [&](const PolicyName& n) {
    if (auto why = name_refused(owner, n.kind, n.value->get<std::string>(), lookup, false))
      throw bad_request("field '" + n.field + "': " + *why, n.field);
  });
}

std::optional<std::string> owner_of(const json& obj) {
  if (obj.value("parent_type", "") == "project") return obj.value("parent_uuid", "");
  return std::nullopt;
}

std::vector<PolicyProblem> confine_policy_names(std::map<std::string, json>& objects) {
  std::map<std::string, std::map<std::string, NamedObject>> index;  // kind -> fq -> what rules need
  for (auto& [kind, list] : objects)
    for (auto& o : list) {
      NamedObject n{kind == "project" ? std::optional(o.value("uuid", "")) : owner_of(o),
                    o.value("is_shared", false) || o.value("router_external", false)};
      index[kind][join(o["fq_name"])] = n;
    }
  NameLookup lookup = [&](const std::string& kind, const std::string& fq) -> std::optional<NamedObject> {
    auto k = index.find(kind);
    if (k == index.end()) return std::nullopt;
    auto it = k->second.find(fq);
    return it == k->second.end() ? std::nullopt : std::optional(it->second);
  };

  std::vector<PolicyProblem> problems;
  auto report = [&](const json& obj, const std::string& kind, const std::string& field, const std::string& msg) {
    problems.push_back({owner_of(obj), obj.value("uuid", ""), kind, join(obj["fq_name"]), field, msg});
  };
  const std::string kRemoved = "\x01removed";  // marks a name to take out below

  for (auto& [kind, list] : objects) {
    if (kind != "network-policy" && kind != "security-group" && kind != "firewall-rule") continue;
    json kept = json::array();
    for (auto& obj : list) {
      auto owner = owner_of(obj);
      // `any` first: the networks this project may name (its own and shared ones).
      if (kind == "network-policy" && owner && obj.contains("rules"))
        for (auto& rule : obj["rules"])
          for (const char* side : {"src_networks", "dst_networks"}) {
            if (!rule.contains(side) || !rule[side].is_array()) continue;
            json expanded = json::array();
            std::set<std::string> seen;
            for (auto& n : rule[side]) {
              if (n != "any") {
                if (seen.insert(n.dump()).second) expanded.push_back(n);
                continue;
              }
              for (auto& [fq, net] : index[kNetwork])
                if ((net.project == owner || net.shared) && seen.insert(json(fq).dump()).second) expanded.push_back(fq);
            }
            rule[side] = std::move(expanded);
          }
      bool drop_object = false;
      for_each_policy_name(kind, obj, [&](const PolicyName& n) {
        if (auto why = name_refused(owner, n.kind, n.value->get<std::string>(), lookup, true)) {
          report(obj, kind, n.field, *why + ": left out");
          if (kind == "firewall-rule" && n.kind != kPort) drop_object = true;
          *n.value = kRemoved;
        }
      });
      if (drop_object) {
        report(obj, kind, "", "firewall rule names what its project may not: not compiled");
        continue;
      }
      if (obj.value("mirror_to", json()) == kRemoved) obj.erase("mirror_to");
      if (obj.contains("rules") && obj["rules"].is_array()) {
        json rules = json::array();
        for (size_t i = 0; i < obj["rules"].size(); ++i) {
          json rule = obj["rules"][i];
          if (rule.value("mirror_to", json()) == kRemoved) rule.erase("mirror_to");
          if (rule.value("remote_group", json()) == kRemoved) {
            report(obj, kind, indexed("rules", i), "rule dropped");
            continue;
          }
          bool empty = false;
          for (const char* side : {"src_networks", "dst_networks"}) {
            if (!rule.contains(side)) continue;
            json names = json::array();
            for (auto& n : rule[side])
              if (n != kRemoved) names.push_back(n);
            empty |= names.empty();
            rule[side] = std::move(names);
          }
          if (empty) {
            report(obj, kind, indexed("rules", i), "rule names no network its project may use: dropped");
            continue;
          }
          rules.push_back(std::move(rule));
        }
        obj["rules"] = std::move(rules);
      }
      kept.push_back(std::move(obj));
    }
    list = std::move(kept);
  }

  // Firewall policies keep referring to firewall rules that were dropped: take those out.
  std::set<std::string> rules_left;
  for (auto& r : objects["firewall-rule"]) rules_left.insert(join(r["fq_name"]));
  for (auto& fp : objects["firewall-policy"]) {
    if (!fp.contains("firewall_rule_refs")) continue;
    json refs = json::array();
    for (auto& r : fp["firewall_rule_refs"])
      if (r.contains("to") && rules_left.count(r["to"].is_array() ? join(r["to"]) : r["to"].get<std::string>()))
        refs.push_back(r);
    fp["firewall_rule_refs"] = std::move(refs);
  }
  return problems;
}

}  // namespace vrf
