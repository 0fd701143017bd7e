#include "request.h"

#include <arpa/inet.h>

#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <regex>
#include <set>

#include "controller/http_json_limits.h"

namespace vrfabric {

json parse_request_line(std::string_view line) {
  if (line.size() > kMaxRequestBytes)
    throw AgentError(fmt::format("request too large: a request line may have at most {} bytes", kMaxRequestBytes));
  // The element count is bounded by the line length already; only the depth matters here.
  vrf::JsonLimits limits{kMaxRequestDepth, std::numeric_limits<size_t>::max()};
  if (auto v = vrf::json_limit_violation(line, limits))
    throw AgentError(fmt::format("request is nested deeper than {} levels", kMaxRequestDepth));
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) throw AgentError("request is not valid JSON");
  if (!j.is_object()) throw AgentError("request must be a JSON object");
  return j;
}

// {"address": "10.1.1.3/24", "gateway": "10.1.1.1", "dns": ["10.1.1.2"], "mtu": 1450}
std::optional<dhcp::Lease> lease(const Request& r) {
  auto* v = r.find("dhcp");
  if (!v) return std::nullopt;
  if (!v->is_object()) throw AgentError("field 'dhcp' must be an object");
  static const std::set<std::string> fields = {"address", "gateway", "dns", "mtu", "lease_seconds"};
  for (auto& [k, x] : v->items())
    if (!fields.count(k)) throw AgentError(fmt::format("unknown field 'dhcp.{}'", k));
  Request d{*v};
  dhcp::Lease l;
  Prefix a = d.prefix(d.str("address"), "dhcp.address");
  if (a.family != AF_INET || a.len == 0 || a.len > 30)
    throw AgentError("field 'dhcp.address' must be an IPv4 address with a prefix length up to /30");
  Prefix host = Prefix::parse(d.str("address").substr(0, d.str("address").find('/')));
  std::memcpy(&l.address, host.addr.data(), 4);
  l.prefix_len = a.len;
  l.gateway = parse_ipv4(d.str("gateway"));
  if (auto* dns = d.find("dns")) {
    if (!dns->is_array()) throw AgentError("field 'dhcp.dns' must be a list of addresses");
    for (auto& x : *dns) {
      if (!x.is_string()) throw AgentError("field 'dhcp.dns' must be a list of addresses");
      l.dns.push_back(parse_ipv4(x.get<std::string>()));
    }
  }
  if (d.find("mtu")) l.mtu = static_cast<uint16_t>(std::min<uint32_t>(d.u32("mtu"), 65535));
  if (d.find("lease_seconds")) l.lease_seconds = d.u32("lease_seconds");
  return l;
}

// [{"prefix": "10.1.1.50/32", "mac": "02:00:00:00:00:50"}], mac optional (the port's own).
std::vector<AllowedPair> allowed_pairs(const Request& r) {
  std::vector<AllowedPair> out;
  auto* v = r.find("allowed_pairs");
  if (!v) return out;
  if (!v->is_array()) throw AgentError("field 'allowed_pairs' must be a list of {\"prefix\", \"mac\"}");
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    std::string where = fmt::format("allowed_pairs[{}]", i);
    if (!e.is_object()) throw AgentError(fmt::format("field '{}' must be an object", where));
    for (auto& [k, x] : e.items())
      if (k != "prefix" && k != "mac") throw AgentError(fmt::format("unknown field '{}.{}'", where, k));
    Request p{e};
    AllowedPair pair;
    std::string prefix_field = where + ".prefix", mac_field = where + ".mac";
    pair.prefix = p.prefix(p.str("prefix"), prefix_field.c_str());
    if (p.find("mac")) pair.mac = p.mac("mac");
    if (pair.mac[0] & 1) throw AgentError(fmt::format("field '{}': {} is a multicast MAC", mac_field, p.str("mac")));
    for (auto& seen : out)
      if (seen.prefix == pair.prefix)
        throw AgentError(fmt::format("field '{}': {} is listed twice", prefix_field, pair.prefix.str()));
    out.push_back(pair);
  }
  return out;
}

InterfaceSpec interface_spec(const Request& r) {
  return InterfaceSpec{r.str("name"), r.str("vrf"), r.mac("mac"), r.str("netns"), r.str_or("peer_name", "eth0"),
                       r.hosts("ips"), lease(r), allowed_pairs(r)};
}

Vrf vrf_spec(const Request& r) {
  Vrf v;
  v.name = r.str("name");
  v.vni = r.opt_u32("vni");
  v.route_target = r.str_or("route_target", "");
  // "AS:value" or "IPv4:value", the forms route targets are written in.
  static const std::regex rt(R"(^(\d{1,10}|\d{1,3}(\.\d{1,3}){3}):\d{1,10}$)");
  // The length check first: std::regex recurses once per character matched.
  constexpr size_t kMaxTarget = 32;
  if (!v.route_target.empty() && (v.route_target.size() > kMaxTarget || !std::regex_match(v.route_target, rt)))
    throw AgentError(fmt::format("field 'route_target': '{}' is not AS:value or IPv4:value", v.route_target));
  if (auto* imports = r.find("imports")) {
    if (!imports->is_array()) throw AgentError("field 'imports' must be a list of route targets");
    for (auto& t : *imports) {
      if (!t.is_string() || t.get<std::string>().size() > kMaxTarget || !std::regex_match(t.get<std::string>(), rt))
        throw AgentError(fmt::format("field 'imports': {} is not a route target (AS:value or IPv4:value)", t.dump()));
      v.imports.insert(t.get<std::string>());
    }
  }
  v.encap = r.find("encap") ? parse_encap(r.str("encap")) : VR_ENCAP_NONE;
  return v;
}

PolicySpec policy_spec(const json& j) {
  if (!j.is_object()) throw AgentError("field 'policy' must be an object");
  PolicySpec p;
  auto list = [&](const char* field) -> const json& {
    static const json empty = json::array();
    auto it = j.find(field);
    if (it == j.end()) return empty;
    if (!it->is_array()) throw AgentError(fmt::format("field 'policy.{}' must be a list", field));
    return *it;
  };
  const json& epgs = list("epgs");
  for (size_t i = 0; i < epgs.size(); ++i) {
    Request r{epgs[i]};
    try {
      p.epgs.push_back({r.str("vrf"), r.prefix(r.str("prefix"), "prefix"), r.u32("epg")});
    } catch (const std::exception& e) {
      throw AgentError(fmt::format("policy.epgs[{}]: {}", i, e.what()));
    }
  }
  const json& rules = list("rules");
  for (size_t i = 0; i < rules.size(); ++i) {
    Request r{rules[i]};
    try {
      uint32_t port_len = r.u32("port_len"), port = r.u32("port"), proto = r.u32("proto");
      if (port_len > 16 || port > 65535 || proto > 255) throw AgentError("port, port_len or proto out of range");
      vr_rule_key k{};
      k.prefixlen = 32 + 32 + 8 + 8 + port_len;
      k.src_epg = r.u32("src_epg");
      k.dst_epg = r.u32("dst_epg");
      k.proto = static_cast<uint8_t>(proto);
      k.dport = htons(static_cast<uint16_t>(port));
      std::string action = r.str("action");
      vr_rule v{};
      v.action = action == "pass" ? VR_ACT_PASS : action == "mirror" ? VR_ACT_MIRROR : VR_ACT_DENY;
      if (action != "pass" && action != "deny" && action != "mirror")
        throw AgentError(fmt::format("action '{}' is not pass, deny or mirror", action));
      v.rule_id = r.u32("rule_id");
      p.rules.emplace_back(k, v);
    } catch (const std::exception& e) {
      throw AgentError(fmt::format("policy.rules[{}]: {}", i, e.what()));
    }
  }
  if (auto it = j.find("descriptions"); it != j.end() && it->is_object())
    for (auto& [id, text] : it->items())
      if (text.is_string()) p.descriptions[static_cast<uint32_t>(std::strtoul(id.c_str(), nullptr, 10))] = text;
  if (auto it = j.find("interfaces"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) throw AgentError("field 'policy.interfaces' must be a list of interface names");
    p.interfaces.emplace();
    for (auto& name : *it) {
      if (!name.is_string()) throw AgentError("field 'policy.interfaces' must be a list of interface names");
      p.interfaces->insert(name.get<std::string>());
    }
  }
  if (auto it = j.find("analyzer_hosts"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw AgentError("field 'policy.analyzer_hosts' must map interface names to fabric addresses");
    for (auto& [name, host] : it->items()) {
      if (!host.is_string()) throw AgentError(fmt::format("policy.analyzer_hosts: {} is not an address", host.dump()));
      p.analyzer_hosts[name] = parse_ipv4(host.get<std::string>());
    }
  }
  if (auto it = j.find("analyzers"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw AgentError("field 'policy.analyzers' must map rule ids to interface names");
    for (auto& [id, name] : it->items()) {
      char* end = nullptr;
      unsigned long rule = std::strtoul(id.c_str(), &end, 10);
      if (id.empty() || *end || rule > UINT32_MAX || !name.is_string())
        throw AgentError(fmt::format("policy.analyzers: '{}' -> {} is not a rule id and an interface name", id, name.dump()));
      p.analyzers[static_cast<uint32_t>(rule)] = name;
    }
  }
  return p;
}

}  // namespace vrfabric
