#include <doctest/doctest.h>

#include "fixtures.h"
#include "vrfabric/policy/tags.h"

using namespace fx;

namespace {
PolicyInput tagged() {
  PolicyInput in;
  in.custom_tag_types = {"instance"};
  for (std::string t : {"tier=web", "tier=app", "tier=db", "site=lon", "site=nyc", "deployment=prod",
                        "label=pci", "label=gold", "label=edge", "instance=i1"})
    in.tags.push_back({t, t.substr(0, t.find('=')), t.substr(t.find('=') + 1)});
  in.projects = {{"p", {"tier=web", "site=lon", "label=pci"}}};
  in.networks = {{"p:net", "", 0, {"tier=app", "label=gold"}, {}}};
  in.workloads = {{"p:vm", {"deployment=prod", "site=nyc", "label=gold"}}};
  Interface i = vmi("p:vmi", "p:net", {"10.0.0.1"}, {}, {"tier=db", "label=edge", "instance=i1"});
  i.workload = "p:vm";
  in.interfaces = {i, vmi("p:bare", "p:net", {"10.0.0.2"})};
  return in;
}
}  // namespace

TEST_CASE("a lower level overrides a higher one for the same tag type") {
  PolicyInput in = tagged();
  TagSet t = effective_tags(in, "p:vmi");
  CHECK(t.at("tier") == std::vector<std::string>{"tier=db"});            // interface > network > project
  CHECK(t.at("site") == std::vector<std::string>{"site=nyc"});           // workload > project
  CHECK(t.at("deployment") == std::vector<std::string>{"deployment=prod"});
  CHECK(t.at("instance") == std::vector<std::string>{"instance=i1"});    // custom type

  TagSet bare = effective_tags(in, "p:bare");                             // no workload, no own tags
  CHECK(bare.at("tier") == std::vector<std::string>{"tier=app"});        // network > project
  CHECK(bare.at("site") == std::vector<std::string>{"site=lon"});        // from the project
  CHECK(bare.count("deployment") == 0);
}

TEST_CASE("labels accumulate from every level, each once") {
  PolicyInput in = tagged();
  CHECK(effective_tags(in, "p:vmi").at("label") == std::vector<std::string>{"label=edge", "label=gold", "label=pci"});
  CHECK(effective_tags(in, "p:bare").at("label") == std::vector<std::string>{"label=gold", "label=pci"});
}

TEST_CASE("the interface's project is its explicit one, else its fq_name's parent") {
  PolicyInput in = tagged();
  in.projects.push_back({"q", {"site=nyc"}});
  in.interfaces[1].project = "q";
  CHECK(effective_tags(in, "p:bare").at("site") == std::vector<std::string>{"site=nyc"});
}

TEST_CASE("inherited tags decide: a network-level tier is overridden by the interface's") {
  PolicyInput in = tagged();
  // Only tier=db may receive: the interface-level tier=db counts, not the network's tier=app.
  with_firewall(in, {fw_rule("p:to-db", {}, {"tier=db"})});
  auto c = compile(in);
  CHECK(verdict(c, "p:net", "10.0.0.2", "10.0.0.1", TCP, 80) == Action::Pass);
  CHECK(verdict(c, "p:net", "10.0.0.1", "10.0.0.2", TCP, 80) == Action::Deny);
}
