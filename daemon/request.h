#pragma once
// Typed access to the fields of a JSON request, with errors that name the field; and the
// parsers of the objects both the local API and the controller's snapshots describe.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent_state.h"

namespace vrfabric {

using json = nlohmann::json;

// Typed access to request fields with errors that name the field.
struct Request {
  const json& j;

  const json* find(const char* field) const {
    auto it = j.find(field);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  std::string str(const char* field) const {
    auto* v = find(field);
    if (!v) throw AgentError(fmt::format("field '{}' is required", field));
    if (!v->is_string()) throw AgentError(fmt::format("field '{}' must be a string", field));
    return v->get<std::string>();
  }
  std::string str_or(const char* field, const std::string& dflt) const { return find(field) ? str(field) : dflt; }
  uint32_t u32(const char* field) const {
    auto* v = find(field);
    if (!v) throw AgentError(fmt::format("field '{}' is required", field));
    if (!v->is_number_unsigned()) throw AgentError(fmt::format("field '{}' must be a non-negative integer", field));
    uint64_t n = v->get<uint64_t>();
    if (n > UINT32_MAX) throw AgentError(fmt::format("field '{}' is too large", field));
    return static_cast<uint32_t>(n);
  }
  std::optional<uint32_t> opt_u32(const char* field) const {
    return find(field) ? std::optional<uint32_t>(u32(field)) : std::nullopt;
  }
  Mac mac(const char* field) const {
    try {
      return parse_mac(str(field));
    } catch (const std::invalid_argument& e) {
      throw AgentError(fmt::format("field '{}': {}", field, e.what()));
    }
  }
  Prefix prefix(const std::string& text, const char* field) const {
    try {
      return Prefix::parse(text);
    } catch (const std::invalid_argument& e) {
      throw AgentError(fmt::format("field '{}': {}", field, e.what()));
    }
  }
  std::vector<Prefix> hosts(const char* field) const {
    std::vector<Prefix> out;
    auto* v = find(field);
    if (!v) return out;
    if (!v->is_array()) throw AgentError(fmt::format("field '{}' must be a list of addresses", field));
    for (auto& e : *v) {
      if (!e.is_string()) throw AgentError(fmt::format("field '{}' must be a list of addresses", field));
      out.push_back(prefix(e.get<std::string>(), field));
    }
    return out;
  }
};

// Limits on one request line of the local API, checked before a JSON tree is built: a
// whole compiled policy fits in the line, and no legitimate request nests deeper than a
// few levels (a deep tree would overflow the stack when it is copied or freed).
constexpr size_t kMaxRequestBytes = 32u << 20;
constexpr size_t kMaxRequestDepth = 64;

// One line of the local API to a JSON object; throws AgentError naming the limit or the
// syntax problem.
json parse_request_line(std::string_view line);

std::optional<dhcp::Lease> lease(const Request& r);          // field "dhcp"
InterfaceSpec interface_spec(const Request& r);              // name, vrf, mac, netns, peer_name, ips, dhcp
Vrf vrf_spec(const Request& r);                              // name, vni, route_target, encap
// {"epgs": [{"vrf", "prefix", "epg"}], "analyzers": {"RULE_ID": "interface"}, "rules": [{"src_epg", "dst_epg", "proto", "port",
//  "port_len", "action": "pass"|"deny"|"mirror", "rule_id"}], "descriptions": {"ID": "text"}}
PolicySpec policy_spec(const json& j);

}  // namespace vrfabric
