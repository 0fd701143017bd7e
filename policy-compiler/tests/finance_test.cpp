// The whitepaper's FinancePortal, compiled from examples/finance-portal.yaml: every
// tier/deployment combination, both address families, the ports that matter and some that
// must not.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "fixtures.h"
#include "vrfabric/policy/yaml.h"

using namespace fx;

namespace {

CompiledPolicy finance() {
  std::ifstream f(std::string(VRPOLICY_EXAMPLES_DIR) + "/finance-portal.yaml");
  REQUIRE(f.good());
  std::stringstream text;
  text << f.rdbuf();
  return compile(read_policy_yaml(text.str()));
}

struct Member {
  std::string tier, deployment;
  std::string v4() const { return "10.1." + octet() + "." + host(); }
  std::string v6() const { return "fd00:1:" + octet() + "::" + host(); }
  std::string network() const { return "default-domain:finance:" + tier + "-net"; }
  std::string octet() const { return tier == "web" ? "1" : tier == "app" ? "2" : "3"; }
  std::string host() const { return deployment == "dev" ? "11" : "21"; }
};

bool allowed(const Member& s, const Member& d, uint8_t proto, int port) {
  if (s.deployment != d.deployment || proto != TCP) return false;
  if (s.tier == "web" && d.tier == "app") return port == 8080;
  if (s.tier == "app" && d.tier == "db") return port == 1521 || port == 1630;
  return false;
}

}  // namespace

TEST_CASE("FinancePortal: only web->app tcp/8080 and app->db tcp/1521,1630 within a deployment") {
  CompiledPolicy c = finance();
  std::vector<Member> all;
  for (std::string tier : {"web", "app", "db"})
    for (std::string dep : {"dev", "prod"}) all.push_back({tier, dep});
  int combos = 0, passes = 0;
  for (const auto& s : all)
    for (const auto& d : all) {
      ++combos;
      for (uint8_t proto : {TCP, UDP})
        for (int port : {22, 80, 1520, 1521, 1522, 1630, 1631, 8079, 8080, 8081}) {
          bool expect = allowed(s, d, proto, port);
          // From the source's VRF (sending host) and the destination's (receiving host).
          for (const auto& vrf_net : {s.network(), d.network()}) {
            INFO(s.tier << "-" << s.deployment << " -> " << d.tier << "-" << d.deployment << " proto "
                        << int(proto) << " port " << port << " in " << vrf_net);
            CHECK((verdict(c, vrf_net, s.v4().c_str(), d.v4().c_str(), proto, port) == Action::Pass) == expect);
            CHECK((verdict(c, vrf_net, s.v6().c_str(), d.v6().c_str(), proto, port) == Action::Pass) == expect);
          }
          passes += expect;
        }
    }
  CHECK(combos == 36);
  CHECK(passes == 2 * 1 + 2 * 2);  // web->app 8080, app->db 1521+1630, per deployment (tcp only)
}

TEST_CASE("FinancePortal: decisions name the firewall rule, the rest is default deny") {
  CompiledPolicy c = finance();
  const std::string web = "default-domain:finance:web-net", app = "default-domain:finance:app-net";
  CHECK(why(c, web, "10.1.1.11", "10.1.2.11", TCP, 8080) ==
        "pass: network-policy portal-networks #1 + firewall-rule web-to-app (aps FinancePortal, policy Portal-3-Tier, seq 1)");
  CHECK(why(c, app, "10.1.2.21", "10.1.3.21", TCP, 1630).find("firewall-rule app-to-db") != std::string::npos);
  CHECK(why(c, web, "10.1.1.11", "10.1.2.21", TCP, 8080) == "default deny (no entry: nothing allows this flow)");
  // The application policy set covers its endpoints' traffic to the outside as well.
  CHECK(verdict(c, web, "10.1.1.11", "198.51.100.7", TCP, 443) == Action::Deny);
  // Only passes are stored: 3 allowed (pair, port) kinds x 2 deployments x 2 families.
  CHECK(c.rules.size() == 12);
  for (const auto& r : c.rules) CHECK(r.action == Action::Pass);
}
