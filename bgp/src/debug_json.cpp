// Debug views of the speaker: neighbors, RIB contents, counts. Loop thread only.
#include "vrfabric/bgp/json.h"
#include "speaker_impl.h"

namespace vrfabric::bgp {

using nlohmann::json;

json Speaker::Impl::neighborsJson() {
  // Paths accepted per peer and family, counted from the RIB on demand.
  std::map<uint32_t, std::array<uint64_t, kFamilyCount>> accepted;
  for (auto f : kAllFamilies)
    for (auto& [key, e] : ribs[int(f)]->table())
      for (const auto& p : e.paths) accepted[p.source][int(f)]++;

  json out = json::array();
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, p] : peers) {
    json n;
    n["id"] = id;
    n["address"] = p->config().address.str();
    n["remote-as"] = p->config().remoteAs;
    n["local-as"] = cfg.localAs;
    n["type"] = p->ibgp() ? "ibgp" : "ebgp";
    n["route-reflector-client"] = p->config().routeReflectorClient;
    n["passive"] = p->config().passive;
    n["state"] = sessionStateName(p->state());
    n["remote-router-id"] = IpAddress::v4(p->remoteOpen().bgpId).str();
    n["hold-time"] = p->holdTime();
    n["seconds-in-state"] = std::chrono::duration_cast<std::chrono::seconds>(now - p->stats().since).count();
    json fams = json::array(), recv = json::object();
    for (auto f : kAllFamilies) {
      if (!p->negotiated(f)) continue;
      fams.push_back(familyName(f));
      recv[std::string(familyName(f))] = accepted[id][int(f)];
    }
    n["families"] = fams;
    n["received"] = recv;
    n["graceful-restart"] = p->remoteOpen().gracefulRestart.has_value();
    const auto& s = p->stats();
    n["stats"] = {{"messages-in", s.messagesIn},        {"messages-out", s.messagesOut},
                  {"updates-in", s.updatesIn},          {"flushes-out", s.updatesOut},
                  {"established", s.establishedTransitions}, {"treat-as-withdraw", s.treatAsWithdraw}};
    n["last-error"] = s.lastError;
    out.push_back(n);
  }
  return out;
}

json Speaker::Impl::ribJson(Family f) {
  json routes = json::array();
  for (auto& [key, e] : ribs[int(f)]->table()) {
    if (e.paths.empty()) continue;
    json r;
    r["prefix"] = nlriString(key);
    json paths = json::array();
    for (size_t i = 0; i < e.paths.size(); ++i) {
      const Path& p = e.paths[i];
      json pj = attributesToJson(*p.attrs);
      pj["peer"] = sourceName(p.source);
      pj["best"] = i == 0;
      pj["multipath"] = i < e.multipathCount;
      pj["stale"] = p.stale;
      pj["nlri"] = nlriToJson(withPathFields(key, p.fields));
      paths.push_back(pj);
    }
    r["paths"] = paths;
    routes.push_back(r);
  }
  return json{{"family", familyName(f)}, {"routes", routes}};
}

json Speaker::Impl::summaryJson() {
  json fams = json::object();
  for (auto f : kAllFamilies) {
    uint64_t routes = 0, paths = 0;
    for (auto& [key, e] : ribs[int(f)]->table()) {
      routes += !e.paths.empty();
      paths += e.paths.size();
    }
    fams[std::string(familyName(f))] = {{"routes", routes}, {"paths", paths}};
  }
  uint64_t established = 0;
  for (auto& [id, p] : peers) established += p->established();
  return json{{"router-id", IpAddress::v4(cfg.routerId).str()}, {"local-as", cfg.localAs},
              {"peers", peers.size()}, {"established", established}, {"families", fams}};
}

}  // namespace vrfabric::bgp
