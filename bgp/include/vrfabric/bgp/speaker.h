// The BGP speaker: peers, sessions, RIBs, route reflection and the public API.
//
// Threading: a Speaker owns one event-loop thread (start()). Every method of this
// class may be called from any thread; work is posted to the loop. Callbacks
// (subscriptions, policies) always run on the loop thread and must not block.
//
// An agent embeds a Speaker with one peer (the controller) and originates its
// workloads' EVPN routes; the controller embeds one with routeReflectorClient
// peers for every agent and plain peers for gateway routers.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vrfabric/bgp/message.h"
#include "vrfabric/bgp/policy.h"
#include "vrfabric/bgp/rib.h"

namespace vrfabric::bgp {

class EventLoop;

struct SpeakerConfig {
  uint32_t localAs = 0;
  uint32_t routerId = 0;                    // host order, e.g. IpAddress::parse(..)->v4Value()
  std::optional<IpAddress> listenAddress;   // default: any (IPv4)
  uint16_t listenPort = 179;
  bool listen = true;                       // accept incoming connections
  uint16_t holdTime = 90;
  uint16_t connectRetrySeconds = 5;
  std::optional<uint32_t> clusterId;        // route reflector cluster id (default: router id)
  bool gracefulRestart = true;              // advertise RFC 4724 and act as helper
  uint16_t restartTime = 120;
  BestPathOptions bestPath;
};

struct PeerConfig {
  IpAddress address;
  uint16_t port = 179;
  uint32_t remoteAs = 0;
  std::optional<IpAddress> localAddress;    // source address for outgoing connections
  bool passive = false;                     // never connect, only accept
  bool routeReflectorClient = false;
  std::vector<Family> families = {Family::Evpn};
  // Next hop rewritten to our address on export. Default: eBGP unicast/RTC yes,
  // EVPN and VPN no (the tunnel endpoint must stay the originating VTEP/PE).
  std::optional<bool> nextHopSelf;
  RoutePolicy importPolicy;                 // empty = accept all
  RoutePolicy exportPolicy;
};

using PeerId = uint32_t;
using SubscriptionId = uint64_t;

// A best-path change. paths holds the best path first, then any equal-cost paths;
// an empty list means the route is gone.
struct RouteEvent {
  struct PathView {
    Nlri nlri;  // with this path's labels/ESI/gateway
    AttrsPtr attrs;
    std::string peer;  // "local" or the peer address
  };
  Family family;
  Nlri key;
  std::vector<PathView> paths;
  bool withdrawn() const { return paths.empty(); }
};
using RouteCallback = std::function<void(const RouteEvent&)>;

class Speaker {
 public:
  explicit Speaker(SpeakerConfig cfg);
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  void start();  // binds the listener (throws on failure) and starts the loop thread
  void stop();   // sends Cease to every peer and joins the loop thread

  PeerId addPeer(PeerConfig cfg);
  void removePeer(PeerId id);
  void resetPeer(PeerId id);           // administrative reset (Cease/4), reconnects
  void requestRefresh(PeerId id);      // ROUTE-REFRESH for every negotiated family

  // Originate or replace a local route / withdraw it. attrs.nextHop zero means "our
  // session address" per peer.
  void originate(const Nlri& nlri, const PathAttributes& attrs);
  void withdraw(const Nlri& nlri);

  // VRF import targets: advertised to peers as RT membership (RFC 4684), so a
  // route reflector sends us only routes we import.
  void setImportTargets(std::vector<ExtCommunity> targets);

  // Subscribe to best-path changes of a family, optionally only routes carrying
  // route target rt. The current table is replayed first. Runs on the loop thread.
  SubscriptionId subscribe(Family family, std::optional<ExtCommunity> rt, RouteCallback cb);
  void unsubscribe(SubscriptionId id);

  // Debug views (JSON, thread-safe, block until the loop answers). Like call(),
  // they must not be used from the loop thread itself (e.g. inside a callback).
  nlohmann::json neighbors();
  nlohmann::json rib(Family family);
  nlohmann::json summary();  // route counts per family, for scripts

  // Runs fn on the loop thread and waits for its result. Needs a started speaker;
  // calling it from the loop thread would deadlock.
  template <typename F>
  auto call(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto fut = task.get_future();
    post([&task] { task(); });
    return fut.get();
  }

  class Impl;

 private:
  void post(std::function<void()> fn);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vrfabric::bgp
