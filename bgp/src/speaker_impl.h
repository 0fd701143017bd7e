// Internal declarations shared by speaker.cpp (RIB processing, export, API),
// peer.cpp (sessions and socket I/O) and debug_json.cpp. Loop thread only.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vrfabric/bgp/codec.h"
#include "vrfabric/bgp/event_loop.h"
#include "vrfabric/bgp/fsm.h"
#include "vrfabric/bgp/speaker.h"

namespace vrfabric::bgp {

class Peer;

// One TCP connection and its OpenSent..Established state machine.
struct Connection {
  Connection(EventLoop& loop, FsmConfig cfg, bool outgoing)
      : outgoing(outgoing), fsm(std::move(cfg)), holdTimer(loop), keepaliveTimer(loop) {}
  int fd = -1;
  bool outgoing;
  bool connecting = false;  // non-blocking connect() in progress
  ConnectionFsm fsm;
  Timer holdTimer, keepaliveTimer;
  IpAddress localAddress;
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;
  size_t outOffset = 0;
};

// Routes waiting to be sent to one peer in one family, grouped by attribute set so
// each group packs into as few UPDATEs as possible.
struct OutQueue {
  std::unordered_map<const PathAttributes*, std::pair<AttrsPtr, std::vector<Nlri>>> announce;
  std::vector<Nlri> withdraw;
  bool empty() const { return announce.empty() && withdraw.empty(); }
};

struct PeerStats {
  uint64_t messagesIn = 0, messagesOut = 0, updatesIn = 0, updatesOut = 0;
  uint64_t establishedTransitions = 0;
  uint64_t treatAsWithdraw = 0;
  std::string lastError;
  std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
};

class Peer {
 public:
  Peer(Speaker::Impl& sp, PeerId id, PeerConfig cfg);
  ~Peer();

  void start();
  // Sends Cease/subcode on every connection and goes Idle; reconnects if restart.
  void shutdown(uint8_t ceaseSubcode, const std::string& reason, bool restart);
  void acceptConnection(int fd, const IpAddress& local);
  void sendRouteRefresh(Family f);

  bool established() const { return established_ != nullptr; }
  SessionState state() const;
  const PeerConfig& config() const { return cfg_; }
  PeerId id() const { return id_; }
  bool ibgp() const { return ibgp_; }
  const IpAddress& localAddress() const { return localAddress_; }
  uint32_t remoteRouterId() const { return remoteOpen_.bgpId; }
  const OpenMessage& remoteOpen() const { return remoteOpen_; }
  bool negotiated(Family f) const { return negotiated_[int(f)]; }
  uint16_t holdTime() const { return holdTime_; }
  PeerStats& stats() { return stats_; }
  std::string name() const { return cfg_.address.str(); }

  // Sends pending routes and End-of-RIB markers.
  void flushOut();
  OutQueue& queue(Family f) { return out_[int(f)]; }
  void queueEndOfRib(Family f) { eorPending_[int(f)] = true; }

  // RT constraint state learnt from the peer's RTC routes (RFC 4684).
  std::set<uint64_t> rtExact;                            // full 64-bit route targets
  std::vector<std::pair<uint64_t, uint8_t>> rtPartial;   // RT prefixes (value, bits)
  bool rtDefault = false;                                // default RTC route: "send me all"
  bool rtcReady = true;                                  // false until the peer's RTC End-of-RIB
  bool wantsTargets(const std::vector<ExtCommunity>& rts) const;
  // Per-flush cache of export attributes, keyed by source attributes and source peer.
  std::map<std::pair<const PathAttributes*, uint32_t>, AttrsPtr> exportCache;
  // Graceful restart helper state: families whose paths from this peer are stale.
  std::array<bool, kFamilyCount> staleFamilies{};
  Timer restartTimer;
  std::array<uint64_t, kFamilyCount> acceptedPaths{};

 private:
  Connection* connectionFor(int fd);
  void connect();
  void scheduleConnect();
  void onConnectDone(Connection& c);
  void onReadable(Connection& c);
  // Decodes and handles every complete buffered message; false if c was closed.
  bool drain(Connection& c);
  void onWritable(Connection& c);
  void startConnection(Connection& c);
  void handleMessage(Connection& c, const Message& m);
  void run(Connection& c, const std::vector<FsmAction>& actions);
  bool resolveCollision(Connection& c);
  void becomeEstablished(Connection& c);
  void closeConnection(Connection& c, const std::string& reason, bool keepRoutes = false);
  void sessionDown(const std::string& reason, bool keepStale);
  void write(Connection& c, const std::vector<uint8_t>& bytes);
  void tryWrite(Connection& c);
  FsmConfig fsmConfig() const;
  std::unique_ptr<Connection>& slotOf(Connection& c);

  Speaker::Impl& sp_;
  PeerId id_;
  PeerConfig cfg_;
  bool ibgp_;
  bool running_ = false;
  std::unique_ptr<Connection> outgoing_, incoming_;
  Connection* established_ = nullptr;
  Timer connectRetry_;
  OpenMessage remoteOpen_;
  IpAddress localAddress_;
  std::array<bool, kFamilyCount> negotiated_{};
  uint16_t holdTime_ = 0;
  CodecContext codec_;
  std::array<OutQueue, kFamilyCount> out_;
  std::array<bool, kFamilyCount> eorPending_{};
  PeerStats stats_;
  std::vector<uint8_t> scratch_;
};

class Speaker::Impl {
 public:
  explicit Impl(SpeakerConfig cfg);
  ~Impl();

  // ---- called by Peer
  void onEstablished(Peer& p);
  void onSessionDown(Peer& p, bool keepStale);
  void onUpdate(Peer& p, UpdateMessage& u);
  void onRouteRefresh(Peer& p, Family f);
  void onEndOfRib(Peer& p, Family f);
  OpenMessage localOpen(const PeerConfig& pc) const;

  // ---- RIB operations (speaker.cpp)
  AttrsPtr intern(PathAttributes&& a);
  void addPath(const Nlri& nlri, Path path);
  void removePath(const Nlri& nlri, uint32_t source);
  void markDirty(Family f, const Nlri& key, RibEntry& e);
  void scheduleFlush();
  void flush();
  void exportEntry(Peer& p, Family f, const Nlri& key, RibEntry& e, bool resendAdvertised);
  bool exportAllowed(Peer& p, Family f, const RibEntry& e);
  AttrsPtr exportAttributes(Peer& p, Family f, const Path& best, const Nlri& nlri);
  void reconcile(Peer& p, Family f, bool resendAdvertised);  // re-evaluate every route of f for p
  void recomputeMembership(Peer& p);
  std::atomic<uint32_t> nextPeerId{1};
  void sweepStale(Peer& p, std::optional<Family> only);
  void notify(Family f, const Nlri& key, const RibEntry& e);
  void originateImportTargets();
  std::string sourceName(uint32_t source) const;

  // ---- listener
  void openListener();
  void onAccept();

  // ---- debug views (debug_json.cpp)
  nlohmann::json neighborsJson();
  nlohmann::json ribJson(Family f);
  nlohmann::json summaryJson();

  SpeakerConfig cfg;
  uint32_t clusterId;
  EventLoop loop;
  std::thread thread;
  int listenFd = -1;
  std::map<PeerId, std::unique_ptr<Peer>> peers;
  std::vector<SourceInfo> sources;  // by slot; 0 = local
  std::vector<uint32_t> freeSlots;
  std::array<std::unique_ptr<Rib>, kFamilyCount> ribs;
  std::array<std::vector<Nlri>, kFamilyCount> dirty;
  std::set<PeerId> needReconcile;
  bool flushScheduled = false;

  struct Subscription {
    Family family;
    std::optional<ExtCommunity> rt;
    RouteCallback cb;
    std::unordered_set<Nlri, NlriHash> delivered;  // for rt-filtered withdraw events
  };
  std::map<SubscriptionId, Subscription> subscriptions;
  std::atomic<SubscriptionId> nextSubscription{1};
  std::vector<ExtCommunity> importTargets;
  std::vector<Nlri> originatedTargets;
  bool advertisingDefaultRtc = false;
  std::unordered_map<std::string, std::weak_ptr<const PathAttributes>> interned;
  size_t internSweepAt = 1024;
};

}  // namespace vrfabric::bgp
