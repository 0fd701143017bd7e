#include "request.h"

#include <cstring>
#include <fmt/format.h>
#include <regex>
#include <set>

namespace vrfabric {

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

InterfaceSpec interface_spec(const Request& r) {
  return InterfaceSpec{r.str("name"), r.str("vrf"), r.mac("mac"), r.str("netns"), r.str_or("peer_name", "eth0"),
                       r.hosts("ips"), lease(r)};
}

Vrf vrf_spec(const Request& r) {
  Vrf v;
  v.name = r.str("name");
  v.vni = r.opt_u32("vni");
  v.route_target = r.str_or("route_target", "");
  // "AS:value" or "IPv4:value", the forms route targets are written in.
  static const std::regex rt(R"(^(\d{1,10}|\d{1,3}(\.\d{1,3}){3}):\d{1,10}$)");
  if (!v.route_target.empty() && !std::regex_match(v.route_target, rt))
    throw AgentError(fmt::format("field 'route_target': '{}' is not AS:value or IPv4:value", v.route_target));
  v.encap = r.find("encap") ? parse_encap(r.str("encap")) : VR_ENCAP_NONE;
  return v;
}

}  // namespace vrfabric
