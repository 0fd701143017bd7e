// vr-bgpctl: a small client of vr-bgpd's HTTP API.
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_token.h"

using nlohmann::json;

namespace {

const char* kUsage = R"(usage: vr-bgpctl [--api HOST:PORT] [--token-file PATH] [-j] COMMAND

  show neighbors              sessions: state, families, received routes
  show summary                route counts per family
  show rib [-a FAMILY]        Loc-RIB (FAMILY: evpn, vpnv4, vpnv6, ipv4, ipv6, rtc)
  route add JSON              originate a route (see vr-bgpd --help)
  route del JSON              withdraw a route
  neighbor reset ADDR         administrative reset of a session
  neighbor refresh ADDR       send ROUTE-REFRESH

  --token-file PATH   vr-bgpd's API token (its --api-token-file; default $VRBGP_TOKEN_FILE)
  -j   print raw JSON (default for rib/summary)
)";

int fail(const std::string& msg) {
  std::fprintf(stderr, "vr-bgpctl: %s\n", msg.c_str());
  return 1;
}

void printNeighbors(const json& j) {
  std::printf("%-20s %-10s %-6s %-12s %s\n", "Neighbor", "AS", "Type", "State", "Received");
  for (const auto& n : j) {
    std::string recv;
    for (auto& [f, c] : n["received"].items()) recv += f + "=" + std::to_string(c.get<uint64_t>()) + " ";
    std::printf("%-20s %-10u %-6s %-12s %s\n", n["address"].get<std::string>().c_str(), n["remote-as"].get<unsigned>(),
                n["type"].get<std::string>().c_str(), n["state"].get<std::string>().c_str(), recv.c_str());
    if (!n["last-error"].get<std::string>().empty())
      std::printf("    last error: %s\n", n["last-error"].get<std::string>().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 50179;
  bool raw = false;
  std::string family = "evpn";
  std::vector<std::string> words;
  std::string tokenFile = std::getenv("VRBGP_TOKEN_FILE") ? std::getenv("VRBGP_TOKEN_FILE") : "";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--api" && i + 1 < argc) {
      std::string v = argv[++i];
      auto colon = v.rfind(':');
      if (colon == std::string::npos) return fail("--api wants HOST:PORT");
      host = v.substr(0, colon);
      port = std::stoi(v.substr(colon + 1));
    } else if (a == "--token-file" && i + 1 < argc) {
      tokenFile = argv[++i];
    } else if (a == "-j" || a == "--json") {
      raw = true;
    } else if (a == "-a" && i + 1 < argc) {
      family = argv[++i];
    } else {
      words.push_back(a);
    }
  }
  if (words.size() < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (tokenFile.empty()) return fail("--token-file is required (vr-bgpd's --api-token-file)");
  std::string token;
  try {
    token = vrfabric::bgp::daemon::readApiToken(tokenFile);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  httplib::Client cli(host, port);
  cli.set_read_timeout(60, 0);
  cli.set_bearer_token_auth(token);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  const std::string& verb = words[0];
  const std::string& what = words[1];
  if (verb == "show" && what == "neighbors") res = cli.Get("/neighbors");
  else if (verb == "show" && what == "summary") res = cli.Get("/summary");
  else if (verb == "show" && what == "rib") res = cli.Get(("/rib?family=" + family).c_str());
  else if (verb == "route" && words.size() == 3 && (what == "add" || what == "del"))
    res = cli.Post(what == "add" ? "/routes" : "/routes/withdraw", words[2], "application/json");
  else if (verb == "neighbor" && words.size() == 3 && (what == "reset" || what == "refresh"))
    res = cli.Post(("/neighbors/" + what + "?address=" + words[2]).c_str(), "", "application/json");
  else {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!res) return fail("cannot reach vr-bgpd at " + host + ":" + std::to_string(port) + ": " + httplib::to_string(res.error()));
  if (res->status != 200) return fail(res->body);
  if (verb == "show" && what == "neighbors" && !raw) printNeighbors(json::parse(res->body));
  else std::fputs(res->body.c_str(), stdout);
  return 0;
}
