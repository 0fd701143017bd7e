// vr-bgpd: a standalone speaker around the vrbgp library with a JSON HTTP API.
// Used by the interop tests and the benchmark; also a handy way to poke at peers.
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <map>
#include <thread>

#include "api_token.h"
#include "daemon_config.h"
#include "vrfabric/bgp/json.h"
#include "vrfabric/bgp/speaker.h"

using namespace vrfabric::bgp;
using nlohmann::json;

namespace {

// Originates N distinct type-2 routes with one attribute set: the benchmark feed.
void blast(Speaker& sp, const daemon::DaemonConfig& c) {
  auto rd = RouteDistinguisher::parse(c.blastRd);
  auto nh = IpAddress::parse(c.blastNextHop);
  if (!rd || !nh) throw std::invalid_argument("bad --blast-rd or --blast-next-hop");
  PathAttributes a;
  a.nextHop = *nh;
  a.extCommunities = {ExtCommunity::routeTargetAs2(65000, 100), ExtCommunity::encapsulation(TunnelType::Vxlan)};
  for (uint32_t i = 0; i < c.blast; ++i) {
    EvpnMacIp m{*rd, {}, 0, {}, IpAddress::v4(0x0a000000 + i), 100, std::nullopt};
    m.mac.bytes = {0x02, 0x42, uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    sp.originate(m, a);
  }
  spdlog::info("blast: originated {} EVPN type-2 routes", c.blast);
}

std::string metrics(Speaker& sp) {
  json s = sp.summary();
  std::string out;
  out += "# HELP vrbgp_peers Configured BGP peers.\n# TYPE vrbgp_peers gauge\n";
  out += "vrbgp_peers " + std::to_string(s["peers"].get<uint64_t>()) + "\n";
  out += "# HELP vrbgp_peers_established Peers in Established state.\n# TYPE vrbgp_peers_established gauge\n";
  out += "vrbgp_peers_established " + std::to_string(s["established"].get<uint64_t>()) + "\n";
  out += "# HELP vrbgp_routes Routes in the Loc-RIB per family.\n# TYPE vrbgp_routes gauge\n";
  for (auto& [fam, v] : s["families"].items())
    out += "vrbgp_routes{family=\"" + fam + "\"} " + std::to_string(v["routes"].get<uint64_t>()) + "\n";
  return out;
}

void reply(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(2) + "\n", "application/json");
}

// Every route needs the token: the API originates and withdraws routes and resets sessions.
void requireToken(httplib::Server& srv, const std::string& token) {
  srv.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
    std::string h = req.get_header_value("Authorization");
    if (h.rfind("Bearer ", 0) == 0 && daemon::sameToken(h.substr(7), token)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    reply(res, {{"error", "missing or wrong bearer token (see --api-token-file)"}}, 401);
    return httplib::Server::HandlerResponse::Handled;
  });
}

void setupApi(httplib::Server& srv, Speaker& sp, const std::map<std::string, PeerId>& peerIds) {
  srv.Get("/neighbors", [&](const httplib::Request&, httplib::Response& res) { reply(res, sp.neighbors()); });
  srv.Get("/summary", [&](const httplib::Request&, httplib::Response& res) { reply(res, sp.summary()); });
  srv.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(sp), "text/plain; version=0.0.4");
  });
  srv.Get("/rib", [&](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.has_param("family") ? req.get_param_value("family") : "evpn";
    auto f = parseFamily(name);
    if (!f) return reply(res, {{"error", "unknown family " + name}}, 400);
    reply(res, sp.rib(*f));
  });
  auto routes = [&](bool add) {
    return [&, add](const httplib::Request& req, httplib::Response& res) {
      try {
        json body = json::parse(req.body);
        if (!body.is_array()) body = json::array({body});
        std::vector<RouteSpec> specs;
        for (const auto& r : body) specs.push_back(routeFromJson(r));  // validate all first
        for (const auto& s : specs) add ? sp.originate(s.nlri, s.attrs) : sp.withdraw(s.nlri);
        reply(res, {{"ok", true}, {"count", specs.size()}});
      } catch (const std::exception& e) {
        reply(res, {{"error", e.what()}}, 400);
      }
    };
  };
  srv.Post("/routes", routes(true));
  srv.Post("/routes/withdraw", routes(false));
  auto peerAction = [&](bool reset) {
    return [&, reset](const httplib::Request& req, httplib::Response& res) {
      auto it = peerIds.find(req.get_param_value("address"));
      if (it == peerIds.end()) return reply(res, {{"error", "no such neighbor"}}, 404);
      reset ? sp.resetPeer(it->second) : sp.requestRefresh(it->second);
      reply(res, {{"ok", true}});
    };
  };
  srv.Post("/neighbors/reset", peerAction(true));
  srv.Post("/neighbors/refresh", peerAction(false));
}

}  // namespace

int main(int argc, char** argv) {
  daemon::DaemonConfig cfg;
  try {
    bool help;
    cfg = daemon::parseConfig(argc, argv, &help);
    if (help) {
      std::fputs(daemon::usage(), stdout);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vr-bgpd: %s\n", e.what());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.logLevel));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ vr-bgpd: %v");
  spdlog::flush_on(spdlog::level::info);  // logs go to files read by tests while we run

  // Signals are taken synchronously by the main thread; block them everywhere else.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  Speaker sp(cfg.speaker);
  std::map<std::string, PeerId> peerIds;
  try {
    std::vector<RouteSpec> routes;
    for (const auto& r : cfg.routes) routes.push_back(routeFromJson(r));
    sp.start();
    for (auto& p : cfg.peers) {
      std::string addr = p.address.str();
      peerIds[addr] = sp.addPeer(p);
    }
    for (const auto& r : routes) sp.originate(r.nlri, r.attrs);
    if (cfg.blast) blast(sp, cfg);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  httplib::Server srv;
  std::thread api;
  if (cfg.apiTokenFile.empty()) {
    spdlog::info("AS {} router-id {} up; HTTP API off (no --api-token-file)", cfg.speaker.localAs,
                 IpAddress::v4(cfg.speaker.routerId).str());
  } else {
    try {
      requireToken(srv, daemon::loadOrCreateApiToken(cfg.apiTokenFile));
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
    setupApi(srv, sp, peerIds);
    if (!srv.bind_to_port(cfg.apiAddress.c_str(), cfg.apiPort)) {
      spdlog::error("cannot bind API to {}:{}", cfg.apiAddress, cfg.apiPort);
      return 1;
    }
    api = std::thread([&] { srv.listen_after_bind(); });
    spdlog::info("AS {} router-id {} up; API on http://{}:{} (token in {})", cfg.speaker.localAs,
                 IpAddress::v4(cfg.speaker.routerId).str(), cfg.apiAddress, cfg.apiPort, cfg.apiTokenFile);
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  srv.stop();
  if (api.joinable()) api.join();
  sp.stop();
  return 0;
}
