#include "vrfabric/bgp/json.h"

#include <stdexcept>

namespace vrfabric::bgp {

using nlohmann::json;

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

[[noreturn]] void bad(const std::string& why) { throw std::invalid_argument(why); }

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) bad(std::string("missing \"") + key + "\"");
  if (!j[key].is_string()) bad(std::string("\"") + key + "\" must be a string");
  return j[key].get<std::string>();
}

template <typename T>
T parsed(const json& j, const char* key, std::optional<T> (*parse)(std::string_view)) {
  std::string s = str(j, key);
  auto v = parse(s);
  if (!v) bad(std::string("invalid ") + key + " \"" + s + "\"");
  return *v;
}

uint32_t number(const json& j, const char* key, uint32_t def, uint32_t max = 0xffffffff) {
  if (!j.contains(key)) return def;
  if (!j[key].is_number_unsigned()) bad(std::string("\"") + key + "\" must be a non-negative integer");
  uint64_t v = j[key].get<uint64_t>();
  if (v > max) bad(std::string("\"") + key + "\" out of range");
  return uint32_t(v);
}

std::optional<IpAddress> optionalIp(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  return parsed<IpAddress>(j, key, IpAddress::parse);
}

Nlri evpnFromJson(const json& j, const IpAddress& nextHop) {
  std::string type = j.value("type", "");
  auto rd = parsed<RouteDistinguisher>(j, "rd", RouteDistinguisher::parse);
  Esi esi = j.contains("esi") ? parsed<Esi>(j, "esi", Esi::parse) : Esi{};
  uint32_t etag = number(j, "etag", 0);
  uint32_t label = number(j, "label", 0, 0xffffff);
  if (type == "ethernet-ad" || type == "1") return EvpnEthernetAd{rd, esi, etag, label};
  if (type == "macip" || type == "2") {
    EvpnMacIp m{rd, esi, etag, parsed<MacAddress>(j, "mac", MacAddress::parse), optionalIp(j, "ip"), label, {}};
    if (j.contains("label2")) m.label2 = number(j, "label2", 0, 0xffffff);
    return m;
  }
  if (type == "multicast" || type == "3") return EvpnMulticast{rd, etag, optionalIp(j, "originator").value_or(nextHop)};
  if (type == "ethernet-segment" || type == "4")
    return EvpnEthernetSegment{rd, esi, optionalIp(j, "originator").value_or(nextHop)};
  if (type == "prefix" || type == "5") {
    auto prefix = parsed<Prefix>(j, "prefix", Prefix::parse);
    IpAddress gw = optionalIp(j, "gateway").value_or(IpAddress{prefix.addr.v6, {}});
    return EvpnIpPrefix{rd, esi, etag, prefix, gw, label};
  }
  bad("unknown EVPN route type \"" + type + "\" (ethernet-ad, macip, multicast, ethernet-segment, prefix)");
}

}  // namespace

json nlriToJson(const Nlri& n) {
  return std::visit(
      Overloaded{
          [](const Prefix& p) { return json{{"prefix", p.str()}}; },
          [](const VpnPrefix& p) {
            return json{{"rd", p.rd.str()}, {"prefix", p.prefix.str()}, {"label", mplsLabelValue(p.label)}};
          },
          [](const EvpnEthernetAd& r) {
            return json{{"type", 1}, {"rd", r.rd.str()}, {"esi", r.esi.str()}, {"etag", r.ethTag}, {"label", r.label}};
          },
          [](const EvpnMacIp& r) {
            json j{{"type", 2}, {"rd", r.rd.str()}, {"esi", r.esi.str()}, {"etag", r.ethTag},
                   {"mac", r.mac.str()}, {"label", r.label}};
            if (r.ip) j["ip"] = r.ip->str();
            if (r.label2) j["label2"] = *r.label2;
            return j;
          },
          [](const EvpnMulticast& r) {
            return json{{"type", 3}, {"rd", r.rd.str()}, {"etag", r.ethTag}, {"originator", r.originator.str()}};
          },
          [](const EvpnEthernetSegment& r) {
            return json{{"type", 4}, {"rd", r.rd.str()}, {"esi", r.esi.str()}, {"originator", r.originator.str()}};
          },
          [](const EvpnIpPrefix& r) {
            return json{{"type", 5},           {"rd", r.rd.str()},           {"esi", r.esi.str()},
                        {"etag", r.ethTag},     {"prefix", r.prefix.str()},   {"gateway", r.gateway.str()},
                        {"label", r.label}};
          },
          [](const RtMembership& r) {
            if (r.isDefault()) return json{{"default", true}};
            return json{{"origin-as", r.originAs}, {"rt", r.routeTarget.str()}, {"bits", r.lengthBits}};
          },
      },
      n);
}

json attributesToJson(const PathAttributes& a) {
  static const char* origins[] = {"igp", "egp", "incomplete"};
  json j;
  j["origin"] = origins[int(a.origin) % 3];
  json path = json::array();
  for (const auto& s : a.asPath) {
    if (s.type == AsPathSegment::kSequence) {
      for (auto as : s.asns) path.push_back(as);
    } else {
      path.push_back(s.asns);  // a set prints as a nested list
    }
  }
  j["as-path"] = path;
  j["next-hop"] = a.nextHop.str();
  if (a.med) j["med"] = *a.med;
  if (a.localPref) j["local-pref"] = *a.localPref;
  if (a.atomicAggregate) j["atomic-aggregate"] = true;
  if (!a.communities.empty()) j["communities"] = a.communities;
  json ext = json::array();
  for (const auto& c : a.extCommunities) ext.push_back(c.str());
  j["ext-communities"] = ext;
  if (a.originatorId) j["originator-id"] = IpAddress::v4(*a.originatorId).str();
  if (!a.clusterList.empty()) {
    json cl = json::array();
    for (auto c : a.clusterList) cl.push_back(IpAddress::v4(c).str());
    j["cluster-list"] = cl;
  }
  if (a.pmsiTunnel)
    j["pmsi"] = {{"type", a.pmsiTunnel->tunnelType}, {"label", a.pmsiTunnel->label},
                 {"endpoint", a.pmsiTunnel->endpoint.str()}};
  for (const auto& u : a.unknown) j["unknown"].push_back({{"type", u.type}, {"flags", u.flags}, {"length", u.value.size()}});
  return j;
}

RouteSpec routeFromJson(const json& j) {
  if (!j.is_object()) bad("route must be an object");
  auto family = parseFamily(str(j, "family"));
  if (!family) bad("unknown family \"" + str(j, "family") + "\"");
  RouteSpec r;
  PathAttributes& a = r.attrs;
  if (auto nh = optionalIp(j, "next-hop")) a.nextHop = *nh;
  if (j.contains("rt")) {
    if (!j["rt"].is_array()) bad("\"rt\" must be a list");
    for (const auto& t : j["rt"]) {
      if (!t.is_string()) bad("route targets must be strings");
      auto rt = ExtCommunity::parseRouteTarget(t.get<std::string>());
      if (!rt) bad("invalid route target \"" + t.get<std::string>() + "\"");
      a.extCommunities.push_back(*rt);
    }
  }
  if (j.contains("encap")) {
    auto t = parseTunnelType(str(j, "encap"));
    if (!t) bad("unknown encapsulation \"" + str(j, "encap") + "\" (vxlan, mpls-gre, mpls-udp)");
    a.extCommunities.push_back(ExtCommunity::encapsulation(*t));
  }
  if (j.contains("router-mac"))
    a.extCommunities.push_back(ExtCommunity::routerMac(parsed<MacAddress>(j, "router-mac", MacAddress::parse)));
  if (j.contains("mac-mobility"))
    a.extCommunities.push_back(ExtCommunity::macMobility(number(j, "mac-mobility", 0), j.value("sticky", false)));
  if (j.value("default-gateway", false)) a.extCommunities.push_back(ExtCommunity::defaultGateway());
  if (j.contains("local-pref")) a.localPref = number(j, "local-pref", 100);
  if (j.contains("med")) a.med = number(j, "med", 0);

  switch (*family) {
    case Family::Evpn:
      r.nlri = evpnFromJson(j, a.nextHop);
      if (auto* m = std::get_if<EvpnMulticast>(&r.nlri); m && j.value("pmsi", true))
        a.pmsiTunnel = PmsiTunnel{0, PmsiTunnel::kIngressReplication, number(j, "label", 0, 0xffffff), m->originator};
      break;
    case Family::Vpnv4:
    case Family::Vpnv6: {
      auto prefix = parsed<Prefix>(j, "prefix", Prefix::parse);
      if (prefix.addr.v6 != (*family == Family::Vpnv6)) bad("prefix does not match family");
      r.nlri = VpnPrefix{parsed<RouteDistinguisher>(j, "rd", RouteDistinguisher::parse), prefix,
                         mplsLabelField(number(j, "label", 0, 0xfffff))};
      break;
    }
    case Family::Ipv4Unicast:
    case Family::Ipv6Unicast: {
      auto prefix = parsed<Prefix>(j, "prefix", Prefix::parse);
      if (prefix.addr.v6 != (*family == Family::Ipv6Unicast)) bad("prefix does not match family");
      r.nlri = prefix;
      break;
    }
    case Family::RtConstraint: {
      if (j.value("default", false)) {
        r.nlri = RtMembership{0, {}, 0};
      } else {
        auto rt = ExtCommunity::parseRouteTarget(str(j, "route-target"));
        if (!rt) bad("invalid route-target");
        r.nlri = RtMembership{number(j, "origin-as", 0), *rt, 96};
      }
      break;
    }
  }
  return r;
}

}  // namespace vrfabric::bgp
