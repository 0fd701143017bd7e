#pragma once
// The agent's BGP EVPN side. Outbound: every local interface becomes EVPN type-2 MAC/IP
// routes (its MPLS label or the network's VNI, the network's route target, an RFC 9012
// encapsulation community) and every network a type-3 IMET route, sent to the controller.
// Inbound: type-2 routes of other hosts for networks we have become endpoints in the
// forwarder, and go away on withdraw.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "agent_state.h"
#include "vrfabric/bgp/speaker.h"

namespace vrfabric {

struct EvpnConfig {
  std::string controller;  // controller's BGP address
  uint16_t port = 179;
  uint32_t asn = 64512;    // iBGP with the controller, which reflects
};

class EvpnAgent : public AgentObserver {
 public:
  // state_mu guards AgentState: it is taken for every route learnt.
  EvpnAgent(AgentState& state, std::mutex& state_mu, const EvpnConfig& cfg);
  ~EvpnAgent() override;

  void vrf_changed(const Vrf& vrf, bool removed) override;
  void interface_changed(const Interface& ifc, const Vrf& vrf, bool removed) override;
  nlohmann::json neighbors() { return speaker_.neighbors(); }

 private:
  // A remote MAC as the union of the type-2 routes that name it.
  struct Remote {
    std::set<std::string> ips;
    uint32_t nexthop = 0;
    vr_encap encap = VR_ENCAP_NONE;
    uint32_t label = 0;
    bool routes_only = false;  // imported from a connected network: host routes only
  };
  AgentState& state_;
  std::mutex& state_mu_;
  EvpnConfig cfg_;
  bgp::Speaker speaker_;
  // "64512:100" -> (VRF, routes only): the VRF of that network, and the VRFs importing it.
  std::multimap<std::string, std::pair<std::string, bool>> importers_;
  std::map<std::pair<std::string, std::string>, std::map<bgp::Nlri, Remote>> remotes_;  // (vrf, mac)

  std::optional<bgp::SubscriptionId> subscription_;
  void resubscribe();
  void rebuild_importers(const std::string& removed_vrf);
  void forget_imported(const std::string& vrf);
  void apply_all(const std::set<std::pair<std::string, std::string>>& touched);  // (vrf, mac) pairs
  void refresh_import_targets();
  void on_route(const bgp::RouteEvent& ev);
  void apply_remote(const std::string& vrf, const std::string& mac);
  std::vector<bgp::Nlri> routes_for(const Interface& ifc, const Vrf& vrf) const;
  bgp::PathAttributes attrs_for(const Vrf& vrf) const;
};

}  // namespace vrfabric
