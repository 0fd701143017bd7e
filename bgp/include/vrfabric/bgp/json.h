// JSON views of routes and attributes (debug endpoint, vr-bgpctl, tests), and the
// reverse: a route described in JSON/YAML-like form turned into NLRI + attributes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "vrfabric/bgp/message.h"

namespace vrfabric::bgp {

nlohmann::json nlriToJson(const Nlri& n);
nlohmann::json attributesToJson(const PathAttributes& a);

struct RouteSpec {
  Nlri nlri;
  PathAttributes attrs;
};

// Parses a route description, e.g.
//   {"family":"evpn","type":"macip","rd":"1.1.1.1:100","mac":"aa:..","ip":"10.0.0.1",
//    "label":100,"rt":["65000:100"],"encap":"vxlan","next-hop":"192.0.2.1"}
// Types: ethernet-ad, macip, multicast, ethernet-segment, prefix (EVPN); vpn
// families take "prefix","rd","label" (an MPLS label value); unicast takes "prefix".
// Throws std::invalid_argument with a specific message on bad input.
RouteSpec routeFromJson(const nlohmann::json& j);

}  // namespace vrfabric::bgp
