#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "controller/schema.h"

using vrf::schema::Schema;
using vrf::schema::SchemaError;
using json = nlohmann::json;

static std::string error_field(const std::string& type, const json& body, bool partial = false) {
  try {
    Schema::get().validate_object(*Schema::get().find(type), body, partial);
  } catch (const SchemaError& e) {
    return e.field;
  }
  return "<valid>";
}

TEST_CASE("every type resolves by name, plural and short alias") {
  auto& s = Schema::get();
  CHECK(s.types().size() == 19);  // the object model the issue lists
  for (auto& t : s.types()) {
    CHECK(s.find(t.name) == &t);
    CHECK(s.find(t.plural) == &t);
    for (auto& p : t.parents) CHECK((p.empty() || s.find(p)));
    for (auto& r : t.refs) CHECK(s.find(r.to));
  }
  CHECK(s.find("vn")->name == "virtual-network");
  CHECK(s.find("nonsense") == nullptr);
}

TEST_CASE("validation names the offending field") {
  json vn = {{"fq_name", {"d", "p", "vn"}}, {"vni", "five"}};
  CHECK(error_field("virtual-network", vn) == "vni");
  vn["vni"] = 16777216;
  CHECK(error_field("virtual-network", vn) == "vni");
  vn["vni"] = 5;
  CHECK(error_field("virtual-network", vn) == "<valid>");
  vn["colour"] = "red";
  CHECK(error_field("virtual-network", vn) == "colour");
  vn.erase("colour");
  vn["network_ipam_refs"] = {{{"to", "d:p:ipam"}, {"attr", {{"ipam_subnets", {{{"subnet", "10.0.0.1/24"}}}}}}}};
  CHECK(error_field("virtual-network", vn) == "network_ipam_refs[0].attr.ipam_subnets[0].subnet");
  vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"] = "10.0.0.0/24";
  CHECK(error_field("virtual-network", vn) == "<valid>");
  vn["route_target_list"] = {"target:64512"};
  CHECK(error_field("virtual-network", vn) == "route_target_list[0]");
  vn.erase("route_target_list");
  vn["uuid"] = "nope";
  CHECK(error_field("virtual-network", vn) == "uuid");
  vn["uuid"] = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
  vn["parent_type"] = "domain";
  CHECK(error_field("virtual-network", vn) == "parent_type");
  vn["parent_type"] = "project";
  CHECK(error_field("virtual-network", vn) == "<valid>");
}

TEST_CASE("required fields apply to creates, not to partial updates") {
  json fr = {{"fq_name", "d:p:r"}, {"action", "pass"}, {"direction", "<>"}, {"endpoint_1", json::object()}};
  CHECK(error_field("firewall-rule", fr) == "endpoint_2");
  CHECK(error_field("firewall-rule", fr, true) == "<valid>");
  CHECK(error_field("virtual-machine-interface", {{"fq_name", "d:p:i"}}) == "virtual_network_refs");
}

TEST_CASE("scalar formats") {
  CHECK(Schema::valid_mac("02:00:5e:10:00:01"));
  CHECK_FALSE(Schema::valid_mac("02:00:5e:10:00"));
  CHECK(Schema::valid_route_target("target:64512:8000001"));
  CHECK(Schema::valid_route_target("target:10.1.1.1:5"));
  CHECK_FALSE(Schema::valid_route_target("target:ab:5"));
  CHECK(Schema::valid_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
  CHECK_FALSE(Schema::valid_name("a:b"));
  CHECK(Schema::fq_from_json("a:b:c", "x").size() == 3);
}
