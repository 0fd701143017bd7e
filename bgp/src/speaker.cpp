// Route processing: Adj-RIB-In -> Loc-RIB -> Adj-RIB-Out, route reflection
// (RFC 4456), RT constraint (RFC 4684), graceful restart helper (RFC 4724),
// subscriptions, and the thread-safe public API.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "codec_internal.h"
#include "speaker_impl.h"

namespace vrfabric::bgp {

namespace {

bool isVpnFamily(Family f) { return f == Family::Evpn || f == Family::Vpnv4 || f == Family::Vpnv6; }

// RFC 8277 2.4: withdrawals carry the compatibility label 0x800000.
Nlri withdrawForm(const Nlri& key) {
  Nlri n = key;
  if (auto* v = std::get_if<VpnPrefix>(&n)) v->label = 0x800000;
  return n;
}

PolicyContext policyContext(const Peer& p) {
  return PolicyContext{p.config().address.str(), p.config().remoteAs, p.ibgp()};
}

}  // namespace

bool Peer::wantsTargets(const std::vector<ExtCommunity>& rts) const {
  if (rtDefault) return true;
  for (const auto& rt : rts) {
    if (rtExact.count(rt.raw)) return true;
    for (const auto& [value, bits] : rtPartial) {
      uint64_t mask = bits == 0 ? 0 : ~uint64_t(0) << (64 - bits);
      if ((rt.raw & mask) == (value & mask)) return true;
    }
  }
  return false;
}

Speaker::Impl::Impl(SpeakerConfig c) : cfg(std::move(c)), clusterId(cfg.clusterId.value_or(cfg.routerId)) {
  sources.resize(1);
  sources[0] = SourceInfo{cfg.routerId, {}, false, true};
  for (int i = 0; i < kFamilyCount; ++i)
    ribs[i] = std::make_unique<Rib>([this](uint32_t s) -> const SourceInfo& { return sources[s]; }, cfg.bestPath);
}

Speaker::Impl::~Impl() {
  peers.clear();
  if (listenFd >= 0) close(listenFd);
}

OpenMessage Speaker::Impl::localOpen(const PeerConfig& pc) const {
  OpenMessage o;
  o.myAs = cfg.localAs;
  o.holdTime = cfg.holdTime;
  o.bgpId = cfg.routerId;
  o.as4 = true;
  o.routeRefresh = true;
  o.families = pc.families;
  if (cfg.gracefulRestart) {
    GracefulRestartCapability gr;
    gr.restartTime = cfg.restartTime;
    for (auto f : pc.families) gr.families.push_back({f, false});
    o.gracefulRestart = gr;
  }
  return o;
}

std::string Speaker::Impl::sourceName(uint32_t source) const {
  if (source == kLocalSource) return "local";
  auto it = peers.find(source);
  return it == peers.end() ? "peer#" + std::to_string(source) : it->second->name();
}

// ---------------------------------------------------------------- interning

AttrsPtr Speaker::Impl::intern(PathAttributes&& a) {
  // Identical attribute sets share one object: saves memory and lets the export
  // side group routes into the same UPDATE.
  std::vector<uint8_t> buf;
  wire::Writer w(buf);
  detail::encodeAttributes(a, false, CodecContext{}, w);
  w.u8(a.nextHop.v6);
  w.bytes(a.nextHop.bytes.data(), a.nextHop.size());
  if (a.nextHopLinkLocal) w.bytes(a.nextHopLinkLocal->bytes.data(), 16);
  std::string key(buf.begin(), buf.end());
  auto& slot = interned[key];
  if (auto existing = slot.lock()) return existing;
  auto fresh = std::make_shared<const PathAttributes>(std::move(a));
  slot = fresh;
  if (interned.size() >= internSweepAt) {
    std::erase_if(interned, [](const auto& kv) { return kv.second.expired(); });
    internSweepAt = std::max<size_t>(1024, interned.size() * 2);
  }
  return fresh;
}

// ---------------------------------------------------------------- RIB updates

void Speaker::Impl::addPath(const Nlri& nlri, Path path) {
  Family f = familyOf(nlri);
  Nlri key = routeKey(nlri);
  if (RibEntry* e = ribs[int(f)]->add(key, std::move(path))) markDirty(f, key, *e);
}

void Speaker::Impl::removePath(const Nlri& nlri, uint32_t source) {
  Family f = familyOf(nlri);
  Nlri key = routeKey(nlri);
  if (RibEntry* e = ribs[int(f)]->remove(key, source)) markDirty(f, key, *e);
}

void Speaker::Impl::markDirty(Family f, const Nlri& key, RibEntry& e) {
  if (!e.dirty) {
    e.dirty = true;
    dirty[int(f)].push_back(key);
  }
  scheduleFlush();
}

void Speaker::Impl::scheduleFlush() {
  if (flushScheduled) return;
  flushScheduled = true;
  // Posted, so everything decoded from the current read is batched into one flush.
  loop.post([this] { flush(); });
}

void Speaker::Impl::onUpdate(Peer& p, UpdateMessage& u) {
  for (const auto& e : u.errors) spdlog::warn("peer {}: UPDATE: {}", p.name(), e);
  if (u.treatAsWithdraw) p.stats().treatAsWithdraw++;
  bool rtcChanged = false;
  for (const auto& n : u.withdrawn) {
    Family f = familyOf(n);
    if (!p.negotiated(f)) continue;
    rtcChanged |= f == Family::RtConstraint;
    removePath(n, p.id());
  }
  if (!u.announced.empty()) {
    PathAttributes a = std::move(u.attrs);
    if (!p.ibgp()) a.localPref.reset();  // RFC 4271 5.1.5: not meaningful from eBGP
    // Loop detection: our AS (eBGP), our router id as originator, our cluster id (RFC 4456 8).
    bool looped = (!p.ibgp() && a.asPathContains(cfg.localAs)) || a.originatorId == cfg.routerId ||
                  std::find(a.clusterList.begin(), a.clusterList.end(), clusterId) != a.clusterList.end();
    AttrsPtr shared = looped ? nullptr : intern(std::move(a));
    for (const auto& n : u.announced) {
      Family f = familyOf(n);
      if (!p.negotiated(f)) continue;
      rtcChanged |= f == Family::RtConstraint;
      if (!shared) {
        removePath(n, p.id());
        continue;
      }
      AttrsPtr use = shared;
      if (p.config().importPolicy) {
        PathAttributes copy = *shared;
        if (!p.config().importPolicy(policyContext(p), n, copy)) {
          removePath(n, p.id());
          continue;
        }
        if (!(copy == *shared)) use = intern(std::move(copy));
      }
      addPath(n, Path{p.id(), pathFieldsOf(n), std::move(use), false});
    }
  }
  if (rtcChanged) recomputeMembership(p);
  if (u.endOfRib) onEndOfRib(p, *u.endOfRib);
}

void Speaker::Impl::recomputeMembership(Peer& p) {
  p.rtExact.clear();
  p.rtPartial.clear();
  p.rtDefault = false;
  for (auto& [key, e] : ribs[int(Family::RtConstraint)]->table()) {
    bool fromPeer = std::any_of(e.paths.begin(), e.paths.end(), [&](const Path& x) { return x.source == p.id(); });
    if (!fromPeer) continue;
    const auto& m = std::get<RtMembership>(key);
    if (m.isDefault()) p.rtDefault = true;
    else if (m.targetBits() >= 64) p.rtExact.insert(m.routeTarget.raw);
    else p.rtPartial.emplace_back(m.routeTarget.raw, uint8_t(m.targetBits()));
  }
  if (p.rtcReady) needReconcile.insert(p.id());
  scheduleFlush();
}

void Speaker::Impl::onEndOfRib(Peer& p, Family f) {
  spdlog::debug("peer {}: End-of-RIB for {}", p.name(), familyName(f));
  sweepStale(p, f);
  if (f == Family::RtConstraint && !p.rtcReady) {
    p.rtcReady = true;  // RFC 4684 6: now we know what the peer imports
    needReconcile.insert(p.id());
    scheduleFlush();
  }
}

void Speaker::Impl::onRouteRefresh(Peer& p, Family f) {
  spdlog::info("peer {}: ROUTE-REFRESH for {}", p.name(), familyName(f));
  reconcile(p, f, true);
  scheduleFlush();
}

void Speaker::Impl::onEstablished(Peer& p) {
  if (sources.size() <= p.id()) sources.resize(p.id() + 1);
  sources[p.id()] = SourceInfo{p.remoteRouterId(), p.config().address, p.ibgp(), false};
  // A restarted peer that no longer preserves state gets its stale routes flushed now.
  if (!p.remoteOpen().gracefulRestart) sweepStale(p, std::nullopt);
  for (auto f : kAllFamilies) {
    if (!p.negotiated(f)) continue;
    reconcile(p, f, true);
    p.queueEndOfRib(f);
  }
  scheduleFlush();
}

void Speaker::Impl::onSessionDown(Peer& p, bool keepStale) {
  const auto& gr = p.remoteOpen().gracefulRestart;
  bool anyStale = false;
  for (auto f : kAllFamilies) {
    Rib& rib = *ribs[int(f)];
    bool stale = keepStale && gr &&
                 std::any_of(gr->families.begin(), gr->families.end(), [&](const auto& s) { return s.family == f; });
    std::vector<Nlri> touched;
    for (auto& [key, e] : rib.table()) {
      e.advertised.set(p.id(), false);  // its Adj-RIB-Out is gone with the session
      for (auto& path : e.paths)
        if (path.source == p.id()) touched.push_back(key);
    }
    for (const auto& key : touched) {
      if (!stale) {
        removePath(key, p.id());
        continue;
      }
      RibEntry* e = rib.find(key);
      bool changed = rib.modify(*e, [&](RibEntry& x) {
        for (auto& path : x.paths)
          if (path.source == p.id()) path.stale = true;
      });
      if (changed) markDirty(f, key, *e);
    }
    for (const auto& key : touched) rib.eraseIfUnused(key);
    p.staleFamilies[int(f)] = stale && !touched.empty();
    anyStale |= p.staleFamilies[int(f)];
  }
  if (anyStale) {
    uint16_t secs = gr->restartTime ? gr->restartTime : cfg.restartTime;
    p.restartTimer.start(std::chrono::seconds(secs), [this, &p] {
      spdlog::info("peer {}: graceful restart timer expired, removing stale routes", p.name());
      sweepStale(p, std::nullopt);
    });
  }
  p.acceptedPaths = {};
  scheduleFlush();
}

void Speaker::Impl::sweepStale(Peer& p, std::optional<Family> only) {
  for (auto f : kAllFamilies) {
    if ((only && *only != f) || !p.staleFamilies[int(f)]) continue;
    Rib& rib = *ribs[int(f)];
    std::vector<Nlri> staleKeys;
    for (auto& [key, e] : rib.table())
      for (auto& path : e.paths)
        if (path.source == p.id() && path.stale) staleKeys.push_back(key);
    for (const auto& key : staleKeys) removePath(key, p.id());
    for (const auto& key : staleKeys) rib.eraseIfUnused(key);
    p.staleFamilies[int(f)] = false;
    if (!staleKeys.empty()) spdlog::info("peer {}: removed {} stale {} routes", p.name(), staleKeys.size(), familyName(f));
  }
  if (std::none_of(p.staleFamilies.begin(), p.staleFamilies.end(), [](bool b) { return b; })) p.restartTimer.stop();
}

// ---------------------------------------------------------------- export

bool Speaker::Impl::exportAllowed(Peer& p, Family f, const RibEntry& e) {
  const Path* best = e.best();
  if (!best || best->source == p.id()) return false;
  if (best->source != kLocalSource) {
    auto it = peers.find(best->source);
    if (it == peers.end()) return false;
    const Peer& from = *it->second;
    // RFC 4456 6: iBGP routes go to iBGP peers only via reflection: from a client to
    // everyone, from a non-client to clients only.
    if (from.ibgp() && p.ibgp() && !from.config().routeReflectorClient && !p.config().routeReflectorClient)
      return false;
  }
  if (isVpnFamily(f) && p.negotiated(Family::RtConstraint)) {
    if (!p.rtcReady) return false;
    if (!p.wantsTargets(best->attrs->routeTargets())) return false;
  }
  return true;
}

AttrsPtr Speaker::Impl::exportAttributes(Peer& p, Family f, const Path& best, const Nlri& nlri) {
  auto cacheKey = std::make_pair(best.attrs.get(), best.source);
  AttrsPtr out;
  if (auto it = p.exportCache.find(cacheKey); it != p.exportCache.end()) {
    out = it->second;
  } else {
    PathAttributes a = *best.attrs;
    const Peer* from = nullptr;
    if (auto it2 = peers.find(best.source); it2 != peers.end()) from = it2->second.get();
    if (!p.ibgp()) {
      a.prependAs(cfg.localAs);
      a.localPref.reset();
      a.originatorId.reset();
      a.clusterList.clear();
      if (from && !from->ibgp()) a.med.reset();  // MED does not leave the neighbouring AS
    } else {
      if (!a.localPref) a.localPref = 100;
      if (from && from->ibgp()) {
        // Reflecting (RFC 4456 8): remember the originator and prepend our cluster id.
        if (!a.originatorId) a.originatorId = from->remoteRouterId();
        a.clusterList.insert(a.clusterList.begin(), clusterId);
      }
    }
    bool unicast = f == Family::Ipv4Unicast || f == Family::Ipv6Unicast || f == Family::RtConstraint;
    bool nhSelf = p.config().nextHopSelf.value_or(!p.ibgp() && unicast);
    if (nhSelf || a.nextHop.isZero()) {
      a.nextHop = p.localAddress();
      a.nextHopLinkLocal.reset();
    }
    // RFC 4271 5: unknown optional non-transitive attributes are not passed on;
    // transitive ones are, marked Partial.
    std::erase_if(a.unknown, [](const RawAttribute& r) { return !(r.flags & attr::kFlagTransitive); });
    if (from)
      for (auto& r : a.unknown) r.flags |= attr::kFlagPartial;
    out = std::make_shared<const PathAttributes>(std::move(a));
    p.exportCache.emplace(cacheKey, out);
  }
  if (p.config().exportPolicy) {
    PathAttributes copy = *out;
    if (!p.config().exportPolicy(policyContext(p), nlri, copy)) return nullptr;
    if (!(copy == *out)) return intern(std::move(copy));
  }
  return out;
}

void Speaker::Impl::exportEntry(Peer& p, Family f, const Nlri& key, RibEntry& e, bool resendAdvertised) {
  const Path* best = e.best();
  bool was = e.advertised.test(p.id());
  if (best && exportAllowed(p, f, e)) {
    if (was && !resendAdvertised) return;
    Nlri nlri = withPathFields(key, best->fields);
    if (AttrsPtr out = exportAttributes(p, f, *best, nlri)) {
      auto& group = p.queue(f).announce[out.get()];
      if (!group.first) group.first = out;
      group.second.push_back(std::move(nlri));
      e.advertised.set(p.id(), true);
      return;
    }
  }
  if (was) {
    p.queue(f).withdraw.push_back(withdrawForm(key));
    e.advertised.set(p.id(), false);
  }
}

void Speaker::Impl::reconcile(Peer& p, Family f, bool resendAdvertised) {
  if (!p.established() || !p.negotiated(f)) return;
  for (auto& [key, e] : ribs[int(f)]->table()) exportEntry(p, f, key, e, resendAdvertised);
}

void Speaker::Impl::flush() {
  flushScheduled = false;
  for (PeerId id : needReconcile) {
    auto it = peers.find(id);
    if (it == peers.end()) continue;
    for (auto f : kAllFamilies)
      if (isVpnFamily(f)) reconcile(*it->second, f, false);
  }
  needReconcile.clear();
  for (auto f : kAllFamilies) {
    auto keys = std::move(dirty[int(f)]);
    dirty[int(f)].clear();
    Rib& rib = *ribs[int(f)];
    for (const auto& key : keys) {
      RibEntry* e = rib.find(key);
      if (!e) continue;
      e->dirty = false;
      notify(f, key, *e);
      for (auto& [id, p] : peers)
        if (p->established() && p->negotiated(f)) exportEntry(*p, f, key, *e, true);
      rib.eraseIfUnused(key);
    }
  }
  for (auto& [id, p] : peers) {
    p->flushOut();
    p->exportCache.clear();
  }
}

// ---------------------------------------------------------------- subscriptions

namespace {
RouteEvent makeEvent(Family f, const Nlri& key, const RibEntry& e, const Speaker::Impl& sp) {
  RouteEvent ev{f, key, {}};
  for (size_t i = 0; i < e.multipathCount && i < e.paths.size(); ++i)
    ev.paths.push_back({withPathFields(key, e.paths[i].fields), e.paths[i].attrs, sp.sourceName(e.paths[i].source)});
  return ev;
}

bool carries(const RouteEvent& ev, const ExtCommunity& rt) {
  if (ev.paths.empty()) return false;
  const auto& c = ev.paths.front().attrs->extCommunities;
  return std::find(c.begin(), c.end(), rt) != c.end();
}

void deliver(Speaker::Impl::Subscription& s, const RouteEvent& ev) {
  try {
    if (!s.rt) {
      s.cb(ev);
    } else if (carries(ev, *s.rt)) {
      s.delivered.insert(ev.key);
      s.cb(ev);
    } else if (s.delivered.erase(ev.key)) {
      s.cb(RouteEvent{ev.family, ev.key, {}});  // no longer in this VRF: withdrawn for it
    }
  } catch (const std::exception& e) {
    spdlog::error("route subscriber threw: {}", e.what());
  }
}
}  // namespace

void Speaker::Impl::notify(Family f, const Nlri& key, const RibEntry& e) {
  std::optional<RouteEvent> ev;
  for (auto& [id, s] : subscriptions) {
    if (s.family != f) continue;
    if (!ev) ev = makeEvent(f, key, e, *this);
    deliver(s, *ev);
  }
}

void Speaker::Impl::originateImportTargets() {
  for (const auto& n : originatedTargets) removePath(n, kLocalSource);
  originatedTargets.clear();
  PathAttributes a;  // next hop left zero: filled with the session address per peer
  AttrsPtr shared = intern(std::move(a));
  for (const auto& rt : importTargets) {
    Nlri n = RtMembership{cfg.localAs, rt, 96};
    originatedTargets.push_back(n);
    addPath(n, Path{kLocalSource, {}, shared, false});
  }
}

// ---------------------------------------------------------------- listener

void Speaker::Impl::openListener() {
  IpAddress addr = cfg.listenAddress.value_or(IpAddress{});
  int fd = socket(addr.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len;
  if (addr.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(cfg.listenPort);
    std::memcpy(&s6->sin6_addr, addr.bytes.data(), 16);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(cfg.listenPort);
    std::memcpy(&s4->sin_addr, addr.bytes.data(), 4);
    len = sizeof *s4;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    throw std::runtime_error("cannot listen on " + addr.str() + ":" + std::to_string(cfg.listenPort) + ": " + why);
  }
  listenFd = fd;
  loop.addFd(fd, EPOLLIN, [this](uint32_t) { onAccept(); });
}

void Speaker::Impl::onAccept() {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = accept4(listenFd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    IpAddress remote;
    if (ss.ss_family == AF_INET6) {
      remote.v6 = true;
      std::memcpy(remote.bytes.data(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 16);
    } else {
      std::memcpy(remote.bytes.data(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, 4);
    }
    Peer* match = nullptr;
    for (auto& [id, p] : peers)
      if (p->config().address == remote) match = p.get();
    if (!match) {
      spdlog::info("refusing connection from unconfigured {}", remote.str());
      close(fd);
      continue;
    }
    match->acceptConnection(fd, IpAddress{});
  }
}

// ---------------------------------------------------------------- public API

Speaker::Speaker(SpeakerConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Speaker::~Speaker() { stop(); }

void Speaker::post(std::function<void()> fn) { impl_->loop.post(std::move(fn)); }

void Speaker::start() {
  if (impl_->cfg.listen) impl_->openListener();
  impl_->thread = std::thread([this] { impl_->loop.run(); });
}

void Speaker::stop() {
  if (!impl_->thread.joinable()) return;
  post([this] {
    for (auto& [id, p] : impl_->peers) p->shutdown(err::kAdminShutdown, "speaker stopping", false);
    impl_->loop.stop();
  });
  impl_->thread.join();
}

PeerId Speaker::addPeer(PeerConfig cfg) {
  PeerId id = impl_->nextPeerId++;
  post([this, id, cfg = std::move(cfg)]() mutable {
    if (impl_->sources.size() <= id) impl_->sources.resize(id + 1);
    impl_->sources[id] = SourceInfo{0, cfg.address, cfg.remoteAs == impl_->cfg.localAs, false};
    // RFC 4684 3.2: a route reflector asks its clients for every VPN route (default
    // RT membership), since it must reflect them to clients with other targets.
    if (cfg.routeReflectorClient && !impl_->advertisingDefaultRtc) {
      impl_->advertisingDefaultRtc = true;
      impl_->addPath(RtMembership{0, {}, 0}, Path{kLocalSource, {}, impl_->intern(PathAttributes{}), false});
    }
    auto peer = std::make_unique<Peer>(*impl_, id, std::move(cfg));
    Peer* p = peer.get();
    impl_->peers.emplace(id, std::move(peer));
    p->start();
  });
  return id;
}

void Speaker::removePeer(PeerId id) {
  post([this, id] {
    auto it = impl_->peers.find(id);
    if (it == impl_->peers.end()) return;
    Peer& p = *it->second;
    p.shutdown(err::kPeerDeconfigured, "peer removed", false);
    impl_->sweepStale(p, std::nullopt);
    // Erase later: closed connections are freed by posted tasks that still refer to it.
    impl_->loop.post([this, id] { impl_->peers.erase(id); });
  });
}

void Speaker::resetPeer(PeerId id) {
  post([this, id] {
    if (auto it = impl_->peers.find(id); it != impl_->peers.end())
      it->second->shutdown(err::kAdminReset, "administrative reset", true);
  });
}

void Speaker::requestRefresh(PeerId id) {
  post([this, id] {
    if (auto it = impl_->peers.find(id); it != impl_->peers.end())
      for (auto f : kAllFamilies) it->second->sendRouteRefresh(f);
  });
}

void Speaker::originate(const Nlri& nlri, const PathAttributes& attrs) {
  post([this, nlri, attrs]() mutable {
    impl_->addPath(nlri, Path{kLocalSource, pathFieldsOf(nlri), impl_->intern(PathAttributes(attrs)), false});
  });
}

void Speaker::withdraw(const Nlri& nlri) {
  post([this, nlri] { impl_->removePath(nlri, kLocalSource); });
}

void Speaker::setImportTargets(std::vector<ExtCommunity> targets) {
  post([this, targets = std::move(targets)] {
    impl_->importTargets = targets;
    impl_->originateImportTargets();
  });
}

SubscriptionId Speaker::subscribe(Family family, std::optional<ExtCommunity> rt, RouteCallback cb) {
  SubscriptionId id = impl_->nextSubscription++;
  post([this, id, family, rt, cb = std::move(cb)]() mutable {
    auto& s = impl_->subscriptions[id];
    s = Impl::Subscription{family, rt, std::move(cb), {}};
    for (auto& [key, e] : impl_->ribs[int(family)]->table())
      if (e.best()) deliver(s, makeEvent(family, key, e, *impl_));
  });
  return id;
}

void Speaker::unsubscribe(SubscriptionId id) {
  post([this, id] { impl_->subscriptions.erase(id); });
}

nlohmann::json Speaker::neighbors() {
  return call([this] { return impl_->neighborsJson(); });
}
nlohmann::json Speaker::rib(Family family) {
  return call([this, family] { return impl_->ribJson(family); });
}
nlohmann::json Speaker::summary() {
  return call([this] { return impl_->summaryJson(); });
}

}  // namespace vrfabric::bgp
