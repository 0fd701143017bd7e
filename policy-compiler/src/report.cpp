#include "vrfabric/policy/report.h"

#include <fmt/format.h>

namespace vrfabric::policy {
namespace {

std::string ports_text(const RuleEntry& r) {
  int lo = r.port, hi = r.port + (1 << (16 - r.port_len)) - 1;
  if (lo == 0 && hi == 65535) return "any";
  return lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
}

const char* action_name(Action a) { return a == Action::Pass ? "pass" : "deny"; }

struct Counts {
  size_t v4 = 0, v6 = 0, pass = 0, deny = 0;
};

Counts count(const CompiledPolicy& c) {
  Counts n;
  for (const auto& e : c.epg_entries) (e.prefix.addr.family == Family::V4 ? n.v4 : n.v6)++;
  for (const auto& r : c.rules) (r.action == Action::Pass ? n.pass : n.deny)++;
  return n;
}

std::string tags_text(const TagSet& tags) {
  std::string s;
  for (const auto& [type, names] : tags)
    for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

}  // namespace

std::string format_text(const CompiledPolicy& c) {
  std::string out = "VRFs:\n";
  for (const auto& [net, vrf] : c.vrfs) out += fmt::format("  {:>4}  {}\n", vrf, net);
  out += fmt::format("\nEndpoint groups ({}):\n", c.epgs.size());
  for (const auto& e : c.epgs) {
    out += fmt::format("  {:>4}  {}\n", e.id, e.description);
    if (!e.interfaces.empty()) {
      std::string members;
      for (const auto& i : e.interfaces) members += (members.empty() ? "" : ", ") + i;
      out += fmt::format("        members: {}\n", members);
    }
  }
  out += "\nInterfaces:\n";
  for (const auto& i : c.interfaces)
    for (const auto& [addr, epg] : i.addresses)
      out += fmt::format("  {}  vrf {}  {} -> epg {}\n", i.interface, i.vrf, to_string(addr), epg);
  out += fmt::format("\nEPG LPM entries ({}):\n", c.epg_entries.size());
  for (const auto& e : c.epg_entries) out += fmt::format("  vrf {:>4}  {:<28} -> epg {}\n", e.vrf, e.prefix.str(), e.epg);
  out += fmt::format("\nRule entries ({}; no entry = deny, rule 0):\n", c.rules.size());
  out += fmt::format("  {:>4} {:>4}  {:<6} {:<12} {:<6} rule\n", "src", "dst", "proto", "dport", "action");
  for (const auto& r : c.rules)
    out += fmt::format("  {:>4} {:>4}  {:<6} {:<12} {:<6} {:>4}  {}\n", r.src_epg, r.dst_epg,
                       protocol_name(r.protocol), ports_text(r), action_name(r.action), r.rule_id,
                       c.rule_descriptions.at(r.rule_id));
  Counts n = count(c);
  out += fmt::format(
      "\nCounts: {} endpoint groups, {} EPG LPM entries ({} IPv4, {} IPv6), {} rule entries "
      "({} pass, {} deny), {} rule ids\n",
      c.epgs.size(), c.epg_entries.size(), n.v4, n.v6, c.rules.size(), n.pass, n.deny,
      c.rule_descriptions.size());
  return out;
}

nlohmann::json to_json(const CompiledPolicy& c) {
  using nlohmann::json;
  json j;
  j["vrfs"] = c.vrfs;
  j["epgs"] = json::array();
  for (const auto& e : c.epgs)
    j["epgs"].push_back({{"id", e.id},
                         {"family", family_name(e.family)},
                         {"network", e.network},
                         {"tags", tags_text(e.tags)},
                         {"security_groups", e.security_groups},
                         {"interfaces", e.interfaces},
                         {"description", e.description}});
  j["interfaces"] = json::array();
  for (const auto& i : c.interfaces) {
    json addrs = json::array();
    for (const auto& [a, epg] : i.addresses) addrs.push_back({{"address", to_string(a)}, {"epg", epg}});
    j["interfaces"].push_back({{"name", i.interface}, {"network", i.network}, {"vrf", i.vrf}, {"addresses", addrs}});
  }
  j["epg_entries"] = json::array();
  for (const auto& e : c.epg_entries)
    j["epg_entries"].push_back({{"vrf", e.vrf}, {"prefix", e.prefix.str()}, {"epg", e.epg}});
  j["rules"] = json::array();
  for (const auto& r : c.rules)
    j["rules"].push_back({{"src_epg", r.src_epg}, {"dst_epg", r.dst_epg}, {"protocol", protocol_name(r.protocol)},
                          {"port", r.port}, {"port_prefix_len", r.port_len}, {"ports", ports_text(r)},
                          {"action", action_name(r.action)}, {"rule_id", r.rule_id}});
  json ids = json::object();
  for (const auto& [id, d] : c.rule_descriptions) ids[std::to_string(id)] = d;
  j["rule_descriptions"] = ids;
  Counts n = count(c);
  j["counts"] = {{"epgs", c.epgs.size()}, {"epg_entries_v4", n.v4}, {"epg_entries_v6", n.v6},
                 {"rule_entries", c.rules.size()}, {"pass", n.pass}, {"deny", n.deny},
                 {"rule_ids", c.rule_descriptions.size()}};
  return j;
}

}  // namespace vrfabric::policy
