#include <doctest/doctest.h>

#include "controller/policy_scope.h"

using namespace vrf;
using json = nlohmann::json;

namespace {
json compiled() {
  return json::parse(R"({
    "epgs": [{"vrf": "p:red", "prefix": "10.1.0.1/32", "epg": 1}, {"vrf": "p:red", "prefix": "10.2.0.1/32", "epg": 2},
             {"vrf": "p:blue", "prefix": "10.2.0.1/32", "epg": 2}, {"vrf": "p:green", "prefix": "10.3.0.1/32", "epg": 3}],
    "rules": [{"src_epg": 1, "dst_epg": 2, "rule_id": 7}, {"src_epg": 3, "dst_epg": 3, "rule_id": 9}],
    "descriptions": {"0": "default deny", "7": "red to blue", "9": "inside green"},
    "analyzers": {"7": "tapaaa", "9": "tapbbb"},
    "interfaces": ["tapaaa", "tapbbb", "tapccc"],
    "connections": {"p:red": ["p:blue"], "p:blue": ["p:red"]}})");
}
}  // namespace

TEST_CASE("a host gets the groups of its VRFs and the rules between them") {
  json p = policy_for_host(compiled(), {"p:red"}, {"tapaaa"});
  CHECK(p["epgs"].size() == 2);
  REQUIRE(p["rules"].size() == 1);
  CHECK(p["rules"][0]["rule_id"] == 7);
  CHECK(p["descriptions"] == json::parse(R"({"0": "default deny", "7": "red to blue"})"));
  CHECK(p["analyzers"] == json::parse(R"({"7": "tapaaa"})"));
  CHECK(p["interfaces"] == json::parse(R"(["tapaaa"])"));
  CHECK(p["connections"] == json::parse(R"({"p:red": ["p:blue"]})"));
}

TEST_CASE("a host without the networks a rule joins does not get the rule") {
  json p = policy_for_host(compiled(), {"p:blue"}, {});
  CHECK(p["epgs"].size() == 1);
  CHECK(p["rules"].empty());  // epg 1 is not visible in blue's VRF here
  CHECK(p["interfaces"].empty());
  CHECK(p["analyzers"].empty());
  // The host of an analyzer port keeps knowing it is one: copies come to it from elsewhere.
  CHECK(policy_for_host(compiled(), {"p:blue"}, {"tapbbb"})["analyzers"] == json::parse(R"({"9": "tapbbb"})"));
  CHECK(p["descriptions"] == json::parse(R"({"0": "default deny"})"));
}

TEST_CASE("no policy stays no policy; a fail-closed table keeps its groups") {
  CHECK(policy_for_host(nullptr, {"p:red"}, {}).is_null());
  json closed = json::parse(R"({"epgs": [{"vrf": "p:red", "prefix": "10.1.0.1/32", "epg": 1}], "rules": [],
                                "descriptions": {"0": "policy error: boom"}})");
  json p = policy_for_host(closed, {"p:red"}, {});
  CHECK(p["epgs"].size() == 1);
  CHECK(!p.contains("interfaces"));  // absent: every interface under policy (deny all)
  CHECK(p["descriptions"]["0"] == "policy error: boom");
}
