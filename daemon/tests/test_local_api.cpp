// The agent's local API against a real forwarder (in a private network namespace): every
// bad request gets a specific error and changes nothing; good ones reach the kernel maps.
#include <doctest/doctest.h>

#include "agent_state.h"
#include "local_api.h"

using namespace vrfabric;
using json = nlohmann::json;

namespace {

struct Agent {
  std::mutex mu;
  Datapath dp;
  AgentState st{dp, [] {
                  AgentConfig c;
                  c.fabric_ifname = "lo";
                  c.fabric_ip = parse_ipv4("192.0.2.1");
                  return c;
                }()};
  json call(const std::string& line) { return handle_request(st, line); }
  json ok(const json& req) {
    json r = call(req.dump());
    INFO(r.dump());
    REQUIRE(r["ok"] == true);
    return r["result"];
  }
  std::string error(const std::string& line) {
    json r = call(line);
    INFO(r.dump());
    REQUIRE(r["ok"] == false);
    return r["error"];
  }
};

}  // namespace

TEST_CASE("malformed requests get specific errors") {
  Agent a;
  CHECK(a.error("{not json") == "request is not valid JSON");
  CHECK(a.error("[1,2]") == "request must be a JSON object");
  CHECK(a.error("{}") == "field 'op' is required");
  CHECK(a.error(R"({"op": 5})") == "field 'op' must be a string");
  CHECK(a.error(R"({"op": "vrf.explode"})").find("unknown op 'vrf.explode'") == 0);
  CHECK(a.error(R"({"op": "vrf.add", "name": "red", "colour": "blue"})") == "unknown field 'colour' for op 'vrf.add'");
  CHECK(a.error(R"({"op": "vrf.add", "name": 7})") == "field 'name' must be a string");
  CHECK(a.error(R"({"op": "vrf.add", "name": "red", "vni": -3})") == "field 'vni' must be a non-negative integer");
  CHECK(a.error(R"({"op": "vrf.add", "name": "red", "vni": 99999999999})") == "field 'vni' is too large");
  CHECK(a.error(R"({"op": "vrf.add", "name": "red", "vni": 16777216})") == "VNI 16777216 is outside 1..16777215");
  CHECK(a.error(std::string(33u << 20, ' ')) == "request too large: a request line may have at most 33554432 bytes");
  CHECK(a.error(R"({"op": "vrf.list", "x": )" + std::string(64, '[') + std::string(64, ']') + "}") ==
        "request is nested deeper than 64 levels");
  CHECK(a.error(R"({"op": "vrf.list", "x": )" + std::string(63, '[') + std::string(63, ']') + "}") ==
        "unknown field 'x' for op 'vrf.list'");  // 64 levels are parsed
  CHECK(a.error(R"({"op": "vrf.add", "name": "r", "route_target": ")" + std::string(100000, '1') + ":1\"}")
            .find("field 'route_target'") == 0);
  CHECK(a.ok({{"op", "vrf.list"}}).empty());  // nothing was created by any of the above
}

TEST_CASE("VRFs, VNIs and routes") {
  Agent a;
  CHECK(a.ok({{"op", "vrf.add"}, {"name", "red"}, {"vni", 100}})["id"] == 1);
  CHECK(a.error(R"({"op": "vrf.add", "name": "red"})") == "VRF 'red' already exists");
  CHECK(a.error(R"({"op": "vrf.add", "name": "blue", "vni": 100})") == "VNI 100 is already in use");
  CHECK(a.error(R"({"op": "route.add", "vrf": "green", "prefix": "10.0.0.1/32", "nexthop": "receive"})") ==
        "no VRF named 'green'");
  CHECK(a.error(R"({"op": "route.add", "vrf": "red", "prefix": "10.0.0.300/32", "nexthop": "receive"})") ==
        "field 'prefix': '10.0.0.300' is not an IPv4 or IPv6 address");
  CHECK(a.error(R"({"op": "route.add", "vrf": "red", "prefix": "10.0.0.1/33", "nexthop": "receive"})") ==
        "field 'prefix': '10.0.0.1/33' has an invalid prefix length");
  CHECK(a.error(R"({"op": "route.add", "vrf": "red", "prefix": "10.0.0.1/32", "nexthop": "teleport"})")
            .find("field 'nexthop'") == 0);
  CHECK(a.error(R"({"op": "route.add", "vrf": "red", "prefix": "10.0.0.0/24", "nexthop": "interface", "interface": "nope"})") ==
        "no interface named 'nope'");
  CHECK(a.error(R"({"op": "route.add", "vrf": "red", "prefix": "10.0.0.0/24", "nexthop": "tunnel", "remote": "192.0.2.2", "encap": "ipip", "label": 20})") ==
        "unknown encapsulation 'ipip' (vxlan, mplsudp or mplsgre)");

  a.ok({{"op", "route.add"}, {"vrf", "red"}, {"prefix", "10.1.1.1/32"}, {"nexthop", "receive"}});
  a.ok({{"op", "route.add"}, {"vrf", "red"}, {"prefix", "10.9.0.7/16"}, {"nexthop", "discard"}});
  a.ok({{"op", "route.add"}, {"vrf", "red"}, {"prefix", "fd00::1/128"}, {"nexthop", "receive"}});
  // route.list reads the kernel's FIB back.
  json routes = a.ok({{"op", "route.list"}, {"vrf", "red"}});
  REQUIRE(routes.size() == 3);
  std::set<std::string> seen;
  for (auto& r : routes) seen.insert(r["prefix"].get<std::string>() + " " + r["type"].get<std::string>());
  CHECK(seen == std::set<std::string>{"10.1.1.1/32 receive", "10.9.0.0/16 discard", "fd00::1/128 receive"});

  CHECK(a.error(R"({"op": "route.del", "vrf": "red", "prefix": "10.2.0.0/16"})") == "no route 10.2.0.0/16 in VRF 'red'");
  a.ok({{"op", "route.del"}, {"vrf", "red"}, {"prefix", "10.9.0.0/16"}});
  CHECK(a.ok({{"op", "route.list"}, {"vrf", "red"}}).size() == 2);
  a.ok({{"op", "vrf.del"}, {"name", "red"}});
  CHECK(a.ok({{"op", "route.list"}}).empty());  // deleting the VRF removed its routes from the kernel
}

TEST_CASE("interfaces and endpoints validate before touching the kernel") {
  Agent a;
  a.ok({{"op", "vrf.add"}, {"name", "red"}});
  CHECK(a.error(R"({"op": "interface.add", "name": "v1", "vrf": "red", "mac": "02:00:00:00:00:01", "netns": "no-such-ns-here"})") ==
        "network namespace 'no-such-ns-here' does not exist");
  CHECK(a.error(R"({"op": "interface.add", "name": "v1", "vrf": "red", "mac": "zz:00:00:00:00:01", "netns": "x"})") ==
        "field 'mac': 'zz:00:00:00:00:01' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  CHECK(a.error(R"({"op": "interface.add", "name": "v1", "vrf": "red", "mac": "01:00:00:00:00:01", "netns": "x"})") ==
        "01:00:00:00:00:01 is a multicast MAC");
  CHECK(a.error(R"({"op": "interface.add", "name": "v1", "vrf": "red", "mac": "02:00:00:00:00:01", "netns": "x", "ips": "10.0.0.1"})") ==
        "field 'ips' must be a list of addresses");
  CHECK(a.error(R"({"op": "endpoint.add", "vrf": "red", "mac": "02:00:00:00:00:09", "remote": "192.0.2.2", "encap": "vxlan"})") ==
        "VRF 'red' has no VNI: give the endpoint a label");
  CHECK(a.error(R"({"op": "endpoint.add", "vrf": "red", "mac": "02:00:00:00:00:09", "remote": "192.0.2.2", "label": 3})") ==
        "MPLS label 3 is outside 16..1048575");
  CHECK(a.error(R"({"op": "endpoint.add", "vrf": "red", "mac": "02:00:00:00:00:09", "remote": "192.0.2.1", "label": 30})") ==
        "a tunnel cannot point at this host's own fabric address");
  CHECK(a.error(R"({"op": "endpoint.del", "vrf": "red", "mac": "02:00:00:00:00:09"})") ==
        "no endpoint 02:00:00:00:00:09 in VRF 'red'");
  CHECK(a.ok({{"op", "interface.list"}}).empty());
  CHECK(a.ok({{"op", "tunnel.list"}}).empty());
}
