#include <doctest/doctest.h>

#include "controller/errors.h"
#include "controller/policy_names.h"

using namespace vrf;
using json = nlohmann::json;

namespace {

json object(const std::string& project_uuid, std::vector<std::string> fq, json body = json::object()) {
  body["fq_name"] = fq;
  body["uuid"] = "u-" + fq.back();
  if (!project_uuid.empty()) {
    body["parent_type"] = "project";
    body["parent_uuid"] = project_uuid;
  }
  return body;
}

json rule(json src, json dst, json extra = json::object()) {
  json r = {{"direction", "<>"}, {"protocol", "any"}, {"src_networks", src}, {"dst_networks", dst}, {"action", "pass"}};
  r.update(extra);
  return r;
}

// Tenant A (uuid pa) and B (uuid pb), each with a network; B's "pub" is shared.
std::map<std::string, json> fabric() {
  std::map<std::string, json> o;
  o["project"] = {json{{"fq_name", {"d", "a"}}, {"uuid", "pa"}}, json{{"fq_name", {"d", "b"}}, {"uuid", "pb"}}};
  o["virtual-network"] = {object("pa", {"d", "a", "net"}), object("pb", {"d", "b", "net"}),
                          object("pb", {"d", "b", "pub"}, {{"is_shared", true}})};
  o["virtual-machine-interface"] = {object("pa", {"d", "a", "an"}), object("pb", {"d", "b", "an"})};
  o["network-policy"] = json::array();
  o["firewall-rule"] = json::array();
  o["firewall-policy"] = json::array();
  return o;
}

}  // namespace

TEST_CASE("any in a network policy means the networks its project may name") {
  auto o = fabric();
  o["network-policy"].push_back(object("pa", {"d", "a", "all"}, {{"rules", {rule({"any"}, {"any"})}}}));
  auto problems = confine_policy_names(o);
  CHECK(problems.empty());
  json expect = {"d:a:net", "d:b:pub"};
  CHECK(o["network-policy"][0]["rules"][0]["src_networks"] == expect);
  CHECK(o["network-policy"][0]["rules"][0]["dst_networks"] == expect);
}

TEST_CASE("names a project may not use are left out and reported to it") {
  auto o = fabric();
  o["network-policy"].push_back(object("pa", {"d", "a", "p"}, {{"rules", {
      rule({"d:a:net"}, {"d:b:net", "d:b:pub"}, {{"mirror_to", "d:b:an"}}),  // B's private network, B's port
      rule({"d:a:net"}, {"d:b:net"}),                                         // nothing left: dropped
      rule({"d:a:net"}, {"d:a:missing"})}}}));                                // own, not there yet: dropped
  auto problems = confine_policy_names(o);
  auto& rules = o["network-policy"][0]["rules"];
  REQUIRE(rules.size() == 1);
  CHECK(rules[0]["dst_networks"] == json{"d:b:pub"});
  CHECK_FALSE(rules[0].contains("mirror_to"));
  REQUIRE(problems.size() == 6);
  for (auto& p : problems) CHECK(p.project == std::optional<std::string>("pa"));
  CHECK(problems[0].field == "rules[0].dst_networks[0]");
  CHECK(problems[0].message.find("neither of this project nor shared") != std::string::npos);
  CHECK(problems[1].message.find("analyzer d:b:an is not a port of this project") != std::string::npos);
  CHECK(problems[3].message.find("d:a:missing does not exist") != std::string::npos);
  CHECK(problems[4].field == "rules[1]");
  CHECK(problems[4].message.find("rule names no network") != std::string::npos);
}

TEST_CASE("a firewall rule naming another project's network is dropped with its references") {
  auto o = fabric();
  o["firewall-rule"].push_back(object("pa", {"d", "a", "fw"}, {{"endpoint_1", {{"any", true}}},
                                                              {"endpoint_2", {{"virtual_network", "d:b:net"}}}}));
  o["firewall-rule"].push_back(object("pa", {"d", "a", "ok"}, {{"endpoint_1", {{"tags", {"tier=web"}}}},
                                                              {"endpoint_2", {{"virtual_network", "d:a:net"}}}}));
  o["firewall-policy"].push_back(object("pa", {"d", "a", "fwp"}, {{"firewall_rule_refs",
      {{{"to", {"d", "a", "fw"}}}, {{"to", {"d", "a", "ok"}}}}}}));
  confine_policy_names(o);
  REQUIRE(o["firewall-rule"].size() == 1);
  CHECK(o["firewall-rule"][0]["fq_name"] == json{"d", "a", "ok"});
  REQUIRE(o["firewall-policy"][0]["firewall_rule_refs"].size() == 1);
  CHECK(o["firewall-policy"][0]["firewall_rule_refs"][0]["to"] == json{"d", "a", "ok"});
}

TEST_CASE("write-time refusals do not tell whether another project's object exists") {
  std::map<std::string, NamedObject> known = {{"project d:a", {"pa"}}, {"project d:b", {"pb"}},
                                              {"virtual-network d:b:net", {"pb"}}};
  NameLookup lookup = [&](const std::string& kind, const std::string& fq) -> std::optional<NamedObject> {
    auto it = known.find(kind + " " + fq);
    return it == known.end() ? std::nullopt : std::optional(it->second);
  };
  auto refusal = [&](const std::string& name) -> std::string {
    json p = {{"rules", {rule({"any"}, {name})}}};
    try {
      check_policy_names("network-policy", p, std::string("pa"), lookup);
    } catch (const ApiError& e) {
      CHECK(e.status == 400);
      CHECK(e.field == "rules[0].dst_networks[0]");
      return e.what();
    }
    return "";
  };
  std::string exists = refusal("d:b:net"), missing = refusal("d:b:nothing");
  CHECK_FALSE(exists.empty());
  CHECK(exists.substr(0, exists.find("d:b:")) == missing.substr(0, missing.find("d:b:")));
  CHECK(exists.substr(exists.find("d:b:net") + 7) == missing.substr(missing.find("d:b:nothing") + 11));
  CHECK(refusal("d:a:later").empty());  // its own project's: accepted before the network exists
  json global = {{"rules", {rule({"any"}, {"d:b:net"})}}};
  CHECK_NOTHROW(check_policy_names("network-policy", global, std::nullopt, lookup));  // the global admin's
}
