#include "evpn_agent.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace vrfabric {

namespace {

bgp::TunnelType tunnel_of(vr_encap e) {
  switch (e) {
    case VR_ENCAP_VXLAN: return bgp::TunnelType::Vxlan;
    case VR_ENCAP_MPLSGRE: return bgp::TunnelType::MplsGre;
    default: return bgp::TunnelType::MplsUdp;
  }
}

std::optional<vr_encap> encap_of(bgp::TunnelType t) {
  switch (t) {
    case bgp::TunnelType::Vxlan: return VR_ENCAP_VXLAN;
    case bgp::TunnelType::MplsGre: return VR_ENCAP_MPLSGRE;
    case bgp::TunnelType::MplsUdp: return VR_ENCAP_MPLSUDP;
  }
  return std::nullopt;
}

// Route targets are matched in their "AS:value" text form, the same the config uses.
std::string rt_text(const bgp::ExtCommunity& c) {
  std::string s = c.str();
  return s.rfind("rt:", 0) == 0 ? s.substr(3) : s;
}

bgp::IpAddress host_ip(uint32_t net_order) { return bgp::IpAddress::v4(ntohl(net_order)); }

}  // namespace

EvpnAgent::EvpnAgent(AgentState& state, std::mutex& state_mu, const EvpnConfig& cfg)
    : state_(state), state_mu_(state_mu), cfg_(cfg), speaker_([&] {
        bgp::SpeakerConfig sc;
        sc.localAs = cfg.asn;
        sc.routerId = ntohl(state.config().fabric_ip);
        sc.listen = false;  // the agent always connects to the controller
        sc.holdTime = 30;
        sc.connectRetrySeconds = 1;
        return sc;
      }()) {
  auto addr = bgp::IpAddress::parse(cfg.controller);
  if (!addr) throw AgentError(fmt::format("'{}' is not a controller address", cfg.controller));
  speaker_.start();
  bgp::PeerConfig peer;
  peer.address = *addr;
  peer.port = cfg.port;
  peer.remoteAs = cfg.asn;
  peer.localAddress = host_ip(state.config().fabric_ip);
  peer.families = {bgp::Family::Evpn, bgp::Family::RtConstraint};
  speaker_.addPeer(peer);
  resubscribe();
  spdlog::info("evpn: peering with controller {}:{} as AS {}", cfg.controller, cfg.port, cfg.asn);
}

EvpnAgent::~EvpnAgent() { speaker_.stop(); }

bgp::PathAttributes EvpnAgent::attrs_for(const Vrf& vrf) const {
  bgp::PathAttributes a;
  a.nextHop = host_ip(state_.config().fabric_ip);
  a.localPref = 100;
  if (auto rt = bgp::ExtCommunity::parseRouteTarget(vrf.route_target)) a.extCommunities.push_back(*rt);
  a.extCommunities.push_back(bgp::ExtCommunity::encapsulation(tunnel_of(state_.encap_of(vrf))));
  return a;
}

std::vector<bgp::Nlri> EvpnAgent::routes_for(const Interface& ifc, const Vrf& vrf) const {
  bgp::EvpnMacIp base;
  base.rd = *bgp::RouteDistinguisher::parse(fmt::format("{}:{}", ipv4_str(state_.config().fabric_ip), vrf.id));
  std::copy(ifc.spec.mac.begin(), ifc.spec.mac.end(), base.mac.bytes.begin());
  // VXLAN carries the network's VNI; MPLS the interface's own label (RFC 8365 / RFC 7432).
  base.label = state_.encap_of(vrf) == VR_ENCAP_VXLAN ? vrf.vni.value_or(0) : bgp::mplsLabelField(ifc.label);
  std::vector<bgp::Nlri> out{base};  // MAC only
  for (auto& p : ifc.spec.ips) {
    bgp::EvpnMacIp r = base;
    r.ip = bgp::IpAddress::parse(p.str().substr(0, p.str().find('/')));
    out.push_back(r);
  }
  return out;
}

void EvpnAgent::interface_changed(const Interface& ifc, const Vrf& vrf, bool removed) {
  if (vrf.route_target.empty()) return;  // a network without a route target stays local
  for (auto& nlri : routes_for(ifc, vrf)) {
    if (removed)
      speaker_.withdraw(nlri);
    else
      speaker_.originate(nlri, attrs_for(vrf));
  }
}

void EvpnAgent::vrf_changed(const Vrf& vrf, bool removed) {
  rebuild_importers(removed ? vrf.name : "");
  forget_imported(vrf.name);  // its imports may have changed: the replay below brings them back
  if (!vrf.route_target.empty()) {
    bgp::EvpnMulticast imet;
    imet.rd = *bgp::RouteDistinguisher::parse(fmt::format("{}:{}", ipv4_str(state_.config().fabric_ip), vrf.id));
    imet.originator = host_ip(state_.config().fabric_ip);
    if (removed) {
      speaker_.withdraw(imet);
    } else {
      bgp::PathAttributes a = attrs_for(vrf);
      bgp::PmsiTunnel pmsi;
      pmsi.label = state_.encap_of(vrf) == VR_ENCAP_VXLAN ? vrf.vni.value_or(0) : 0;
      pmsi.endpoint = imet.originator;
      a.pmsiTunnel = pmsi;
      speaker_.originate(imet, a);
    }
  }
  refresh_import_targets();
  if (!removed) resubscribe();
}

void EvpnAgent::rebuild_importers(const std::string& removed_vrf) {
  importers_.clear();
  for (auto& [name, v] : state_.vrfs()) {
    if (name == removed_vrf) continue;
    if (!v.route_target.empty()) importers_.insert({v.route_target, {name, false}});
    for (auto& rt : v.imports) importers_.insert({rt, {name, true}});
  }
}

void EvpnAgent::forget_imported(const std::string& vrf) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (auto& [key, routes] : remotes_)
    if (key.first == vrf && !routes.empty() && routes.begin()->second.routes_only) keys.push_back(key);
  for (auto& key : keys) {
    remotes_[key].clear();
    apply_remote(key.first, key.second);
  }
}

// A subscription replays the whole table first: routes that arrived before their VRF existed
// are picked up again when it appears.
void EvpnAgent::resubscribe() {
  if (subscription_) speaker_.unsubscribe(*subscription_);
  subscription_ = speaker_.subscribe(bgp::Family::Evpn, std::nullopt, [this](const bgp::RouteEvent& ev) { on_route(ev); });
}

void EvpnAgent::refresh_import_targets() {
  std::vector<bgp::ExtCommunity> rts;
  for (auto it = importers_.begin(); it != importers_.end(); it = importers_.upper_bound(it->first))
    if (auto rt = bgp::ExtCommunity::parseRouteTarget(it->first)) rts.push_back(*rt);
  speaker_.setImportTargets(rts);
}

// Runs on the speaker's loop thread.
void EvpnAgent::on_route(const bgp::RouteEvent& ev) {
  auto* key = std::get_if<bgp::EvpnMacIp>(&ev.key);
  if (!key) return;
  std::lock_guard lk(state_mu_);
  std::string mac = key->mac.str();
  // Forget this NLRI everywhere, then record its best path again if it has one.
  std::set<std::pair<std::string, std::string>> touched;
  for (auto& [vm, routes] : remotes_)
    if (routes.erase(ev.key)) touched.insert(vm);
  if (!ev.withdrawn()) {
    const auto& best = ev.paths.front();
    const auto& a = *best.attrs;
    bool ours = !a.nextHop.v6 && htonl(a.nextHop.v4Value()) == state_.config().fabric_ip;
    // The network's own VRF takes the route whole; VRFs importing it take its host route.
    std::map<std::string, bool> into;  // VRF -> routes only
    for (auto& rt : a.routeTargets()) {
      auto [from, to] = importers_.equal_range(rt_text(rt));
      for (auto it = from; it != to; ++it) {
        auto [pos, fresh] = into.emplace(it->second.first, it->second.second);
        if (!fresh) pos->second = pos->second && it->second.second;
      }
    }
    std::optional<vr_encap> encap;
    for (auto& c : a.extCommunities)
      if (c.isEncapsulation() && !encap) encap = encap_of(c.tunnelType());
    if (ours || a.nextHop.v6) return apply_all(touched);  // ours, or a next hop we cannot tunnel to
    auto* path = std::get_if<bgp::EvpnMacIp>(&best.nlri);
    Remote r;
    r.nexthop = htonl(a.nextHop.v4Value());
    r.encap = encap.value_or(VR_ENCAP_MPLSUDP);
    uint32_t raw = path ? path->label : key->label;
    r.label = r.encap == VR_ENCAP_VXLAN ? raw : bgp::mplsLabelValue(raw);
    if (key->ip) r.ips.insert(key->ip->str());
    for (auto& [vrf, routes_only] : into) {
      if (routes_only && !key->ip) continue;  // an imported route is only worth its address
      r.routes_only = routes_only;
      remotes_[{vrf, mac}][ev.key] = r;
      touched.insert({vrf, mac});
    }
  }
  apply_all(touched);
}

void EvpnAgent::apply_all(const std::set<std::pair<std::string, std::string>>& touched) {
  for (auto& [vrf, m] : touched) apply_remote(vrf, m);
}

void EvpnAgent::apply_remote(const std::string& vrf, const std::string& mac) {
  auto& routes = remotes_[{vrf, mac}];
  Mac m = parse_mac(mac);
  try {
    if (routes.empty()) {
      remotes_.erase({vrf, mac});
      if (state_.endpoints().count({vrf, m})) state_.del_endpoint(vrf, m);
      return;
    }
    EndpointSpec spec;
    spec.vrf = vrf;
    spec.mac = m;
    const Remote& first = routes.begin()->second;
    spec.remote = first.nexthop;
    spec.encap = first.encap;
    spec.label = first.label;
    spec.routes_only = first.routes_only;
    for (auto& [nlri, r] : routes)
      for (auto& ip : r.ips) spec.ips.push_back(Prefix::parse(ip));
    state_.add_endpoint(spec);
  } catch (const std::exception& e) {
    spdlog::warn("evpn: cannot install {} in {}: {}", mac, vrf, e.what());
  }
}

}  // namespace vrfabric
