// Peer sessions: connecting (active/passive), socket I/O, driving the connection
// FSM, collision resolution (RFC 4271 6.8) and capability negotiation.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "speaker_impl.h"

namespace vrfabric::bgp {

namespace {

constexpr size_t kReadChunk = 65536;

sockaddr_storage toSockaddr(const IpAddress& a, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (a.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
    len = sizeof(sockaddr_in);
  }
  return ss;
}

IpAddress localAddressOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  IpAddress a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return a;
  if (ss.ss_family == AF_INET6) {
    a.v6 = true;
    std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 16);
  } else {
    std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, 4);
  }
  return a;
}

void tuneSocket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int tos = 0xc0;  // CS6, as routers mark BGP
  setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

Peer::Peer(Speaker::Impl& sp, PeerId id, PeerConfig cfg)
    : restartTimer(sp.loop), sp_(sp), id_(id), cfg_(std::move(cfg)), ibgp_(cfg_.remoteAs == sp.cfg.localAs),
      connectRetry_(sp.loop) {}

Peer::~Peer() {
  for (auto* slot : {&outgoing_, &incoming_})
    if (*slot && (*slot)->fd >= 0) {
      sp_.loop.removeFd((*slot)->fd);
      close((*slot)->fd);
    }
}

SessionState Peer::state() const {
  if (established_) return SessionState::Established;
  SessionState best = running_ ? (cfg_.passive ? SessionState::Active : SessionState::Connect) : SessionState::Idle;
  for (auto* c : {outgoing_.get(), incoming_.get()})
    if (c && !c->connecting && int(c->fsm.state()) > int(best)) best = c->fsm.state();
  return best;
}

FsmConfig Peer::fsmConfig() const { return FsmConfig{sp_.localOpen(cfg_), cfg_.remoteAs, ibgp_}; }

std::unique_ptr<Connection>& Peer::slotOf(Connection& c) { return c.outgoing ? outgoing_ : incoming_; }

void Peer::start() {
  running_ = true;
  if (!cfg_.passive) connect();
}

void Peer::scheduleConnect() {
  if (!running_ || cfg_.passive || connectRetry_.running()) return;
  connectRetry_.start(std::chrono::seconds(sp_.cfg.connectRetrySeconds), [this] { connect(); });
}

void Peer::connect() {
  if (!running_ || established_ || outgoing_) return;
  int fd = socket(cfg_.address.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    scheduleConnect();
    return;
  }
  tuneSocket(fd);
  socklen_t len;
  if (cfg_.localAddress) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto local = toSockaddr(*cfg_.localAddress, 0, len);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), len) != 0)
      spdlog::warn("peer {}: bind to {} failed: {}", name(), cfg_.localAddress->str(), std::strerror(errno));
  }
  auto remote = toSockaddr(cfg_.address, cfg_.port, len);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&remote), len);
  if (rc != 0 && errno != EINPROGRESS) {
    close(fd);
    scheduleConnect();
    return;
  }
  outgoing_ = std::make_unique<Connection>(sp_.loop, fsmConfig(), true);
  outgoing_->fd = fd;
  outgoing_->connecting = true;
  Connection* c = outgoing_.get();
  sp_.loop.addFd(fd, EPOLLOUT, [this, c](uint32_t ev) {
    if (c->connecting) onConnectDone(*c);
    else {
      if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) onReadable(*c);
      if (slotOf(*c).get() == c && (ev & EPOLLOUT)) onWritable(*c);
    }
  });
}

void Peer::onConnectDone(Connection& c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    spdlog::debug("peer {}: connect failed: {}", name(), std::strerror(err));
    sp_.loop.removeFd(c.fd);
    close(c.fd);
    outgoing_.reset();
    scheduleConnect();
    return;
  }
  c.connecting = false;
  sp_.loop.modifyFd(c.fd, EPOLLIN);
  startConnection(c);
}

void Peer::acceptConnection(int fd, const IpAddress& local) {
  if (!running_ || incoming_) {
    // Already handling an incoming connection: refuse the extra one.
    close(fd);
    return;
  }
  tuneSocket(fd);
  incoming_ = std::make_unique<Connection>(sp_.loop, fsmConfig(), false);
  incoming_->fd = fd;
  Connection* c = incoming_.get();
  sp_.loop.addFd(fd, EPOLLIN, [this, c](uint32_t ev) {
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) onReadable(*c);
    if (slotOf(*c).get() == c && (ev & EPOLLOUT)) onWritable(*c);
  });
  (void)local;
  startConnection(*c);
}

void Peer::startConnection(Connection& c) {
  c.localAddress = localAddressOf(c.fd);
  spdlog::info("peer {}: {} connection up (local {})", name(), c.outgoing ? "outgoing" : "incoming",
               c.localAddress.str());
  run(c, c.fsm.start());
}

void Peer::write(Connection& c, const std::vector<uint8_t>& bytes) {
  if (c.fd < 0) return;
  c.out.insert(c.out.end(), bytes.begin(), bytes.end());
  tryWrite(c);
}

void Peer::tryWrite(Connection& c) {
  while (c.outOffset < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.outOffset, c.out.size() - c.outOffset, MSG_NOSIGNAL);
    if (n > 0) {
      c.outOffset += size_t(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      sp_.loop.modifyFd(c.fd, EPOLLIN | EPOLLOUT);
      return;
    }
    return;  // a hard error surfaces as EPOLLERR/EOF on the read side
  }
  c.out.clear();
  c.outOffset = 0;
  sp_.loop.modifyFd(c.fd, EPOLLIN);
}

void Peer::onWritable(Connection& c) { tryWrite(c); }

void Peer::onReadable(Connection& c) {
  for (;;) {
    size_t old = c.in.size();
    c.in.resize(old + kReadChunk);
    ssize_t n = recv(c.fd, c.in.data() + old, kReadChunk, 0);
    c.in.resize(old + (n > 0 ? size_t(n) : 0));
    if (n > 0) {
      if (c.in.size() < 1 << 20) continue;  // bound the work done per wakeup
      break;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      // Handle what arrived before the close (often a NOTIFICATION), then close.
      if (drain(c)) run(c, c.fsm.onTransportClosed());
      return;
    }
    break;
  }
  drain(c);
}

bool Peer::drain(Connection& c) {
  std::unique_ptr<Connection>& slot = slotOf(c);
  size_t off = 0;
  while (slot.get() == &c) {
    DecodeError fe{};
    size_t len = frameLength(c.in.data() + off, c.in.size() - off, &fe);
    if (fe.notification.code) {
      run(c, c.fsm.onDecodeError(fe));
      return false;
    }
    if (len == 0) break;
    auto res = decodeMessage(c.in.data() + off, len, codec_);
    off += len;
    stats_.messagesIn++;
    if (!res.ok()) {
      spdlog::warn("peer {}: {}", name(), res.error->reason);
      run(c, c.fsm.onDecodeError(*res.error));
      return false;
    }
    handleMessage(c, *res.message);
  }
  if (slot.get() != &c) return false;
  c.in.erase(c.in.begin(), c.in.begin() + off);
  return true;
}

void Peer::handleMessage(Connection& c, const Message& m) {
  std::unique_ptr<Connection>& slot = slotOf(c);
  run(c, c.fsm.onMessage(m));
  if (slot.get() != &c || established_ != &c) return;
  try {
    if (auto* u = std::get_if<UpdateMessage>(&m)) {
      stats_.updatesIn++;
      UpdateMessage copy = *u;
      sp_.onUpdate(*this, copy);
    } else if (auto* r = std::get_if<RouteRefreshMessage>(&m)) {
      if (negotiated(r->family)) sp_.onRouteRefresh(*this, r->family);
    }
  } catch (const std::exception& e) {
    // Never let one peer's input take the process down: reset only this session.
    spdlog::error("peer {}: error processing message: {}", name(), e.what());
    run(c, c.fsm.stop(err::kOutOfResources, e.what()));
  }
}

void Peer::run(Connection& c, const std::vector<FsmAction>& actions) {
  std::unique_ptr<Connection>& slot = slotOf(c);
  for (const auto& a : actions) {
    if (slot.get() != &c) return;  // the connection was closed by an earlier action
    switch (a.kind) {
      case FsmAction::SendOpen: {
        scratch_.clear();
        encodeOpen(sp_.localOpen(cfg_), scratch_);
        write(c, scratch_);
        stats_.messagesOut++;
        break;
      }
      case FsmAction::SendKeepalive:
        scratch_.clear();
        encodeKeepalive(scratch_);
        write(c, scratch_);
        stats_.messagesOut++;
        break;
      case FsmAction::SendNotification: {
        scratch_.clear();
        encodeNotification(a.notification, scratch_);
        write(c, scratch_);
        stats_.lastError = "sent NOTIFICATION " + describeNotification(a.notification.code, a.notification.subcode) +
                           ": " + a.reason;
        spdlog::warn("peer {}: {}", name(), stats_.lastError);
        closeConnection(c, a.reason);
        return;
      }
      case FsmAction::ArmHoldTimer:
        if (a.seconds) c.holdTimer.start(std::chrono::seconds(a.seconds), [this, &c] { run(c, c.fsm.onHoldTimerExpired()); });
        else c.holdTimer.stop();
        break;
      case FsmAction::ArmKeepaliveTimer:
        if (a.seconds) c.keepaliveTimer.start(std::chrono::seconds(a.seconds), [this, &c] { run(c, c.fsm.onKeepaliveTimerExpired()); });
        else c.keepaliveTimer.stop();
        break;
      case FsmAction::OpenReceived:
        if (!resolveCollision(c)) return;
        break;
      case FsmAction::Established: becomeEstablished(c); break;
      case FsmAction::Close:
        stats_.lastError = a.reason;
        spdlog::info("peer {}: {}", name(), a.reason);
        closeConnection(c, a.reason, a.keepRoutes);
        return;
    }
  }
}

// RFC 4271 6.8: with two connections to one peer, the one opened by the side with
// the higher BGP identifier survives. Returns false if c itself was closed.
bool Peer::resolveCollision(Connection& c) {
  const OpenMessage& open = *c.fsm.peerOpen();
  if (established_) {
    if (remoteOpen_.gracefulRestart && sp_.cfg.gracefulRestart) {
      // RFC 4724 4.2: a new connection while Established means the peer restarted.
      spdlog::info("peer {}: new connection while established: peer restarted", name());
      Connection* old = established_;
      sessionDown("peer restarted", true);
      closeConnection(*old, "replaced after peer restart", true);
      return true;
    }
    run(c, c.fsm.stop(err::kConnectionCollision, "collision with established session"));
    return false;
  }
  Connection* other = (&c == outgoing_.get()) ? incoming_.get() : outgoing_.get();
  if (!other || other->connecting || other->fsm.state() < SessionState::OpenSent) return true;
  bool keepOutgoing = sp_.cfg.routerId > open.bgpId;
  Connection& loser = keepOutgoing ? *incoming_ : *outgoing_;
  bool selfLoses = &loser == &c;
  run(loser, loser.fsm.stop(err::kConnectionCollision, "connection collision resolution"));
  return !selfLoses;
}

void Peer::becomeEstablished(Connection& c) {
  // Drop the other connection if one is still around.
  Connection* other = (&c == outgoing_.get()) ? incoming_.get() : outgoing_.get();
  if (other) run(*other, other->fsm.stop(err::kConnectionCollision, "connection collision resolution"));
  established_ = &c;
  connectRetry_.stop();
  remoteOpen_ = *c.fsm.peerOpen();
  localAddress_ = c.localAddress;
  holdTime_ = c.fsm.negotiatedHoldTime();
  codec_.as4 = remoteOpen_.as4;
  negotiated_ = {};
  for (auto f : remoteOpen_.families)
    for (auto mine : cfg_.families)
      if (f == mine) negotiated_[int(f)] = true;
  // Without the multiprotocol capability IPv4 unicast is implied (RFC 4760 8).
  if (remoteOpen_.families.empty())
    for (auto mine : cfg_.families)
      if (mine == Family::Ipv4Unicast) negotiated_[int(mine)] = true;
  rtcReady = !negotiated(Family::RtConstraint);
  stats_.establishedTransitions++;
  stats_.since = std::chrono::steady_clock::now();
  stats_.lastError.clear();
  spdlog::info("peer {}: session established (AS {}, id {}, hold {}s)", name(), remoteOpen_.myAs,
               IpAddress::v4(remoteOpen_.bgpId).str(), holdTime_);
  sp_.onEstablished(*this);
}

void Peer::closeConnection(Connection& c, const std::string& reason, bool keepRoutes) {
  std::unique_ptr<Connection>& slot = slotOf(c);
  if (slot.get() != &c) return;
  c.holdTimer.stop();
  c.keepaliveTimer.stop();
  if (established_ == &c) sessionDown(reason, keepRoutes);
  if (c.fd >= 0) {
    // Best effort: push out what is queued (e.g. a NOTIFICATION) before closing.
    if (c.outOffset < c.out.size())
      (void)!::send(c.fd, c.out.data() + c.outOffset, c.out.size() - c.outOffset, MSG_NOSIGNAL | MSG_DONTWAIT);
    sp_.loop.removeFd(c.fd);
    ::shutdown(c.fd, SHUT_RDWR);
    close(c.fd);
    c.fd = -1;
  }
  // The Connection may be referenced by the caller's stack frame: free it later.
  sp_.loop.post([dead = std::shared_ptr<Connection>(slot.release())] {});
  scheduleConnect();
}

void Peer::sessionDown(const std::string& reason, bool keepStale) {
  if (!established_) return;
  established_ = nullptr;
  bool helper = keepStale && sp_.cfg.gracefulRestart && remoteOpen_.gracefulRestart.has_value();
  spdlog::info("peer {}: session down: {}{}", name(), reason, helper ? " (keeping routes: graceful restart)" : "");
  for (auto& q : out_) q = OutQueue{};
  eorPending_ = {};
  exportCache.clear();
  rtExact.clear();
  rtPartial.clear();
  rtDefault = false;
  sp_.onSessionDown(*this, helper);
  negotiated_ = {};
}

void Peer::shutdown(uint8_t ceaseSubcode, const std::string& reason, bool restart) {
  running_ = restart;
  connectRetry_.stop();
  for (auto* slot : {&outgoing_, &incoming_}) {
    Connection* c = slot->get();
    if (!c) continue;
    if (c->connecting) {
      closeConnection(*c, reason);
      continue;
    }
    if (established_ == c) sessionDown(reason, false);
    run(*c, c->fsm.stop(ceaseSubcode, reason));
  }
  if (!restart) connectRetry_.stop();
}

void Peer::sendRouteRefresh(Family f) {
  if (!established_ || !negotiated(f) || !remoteOpen_.routeRefresh) return;
  scratch_.clear();
  encodeRouteRefresh({f, 0}, scratch_);
  write(*established_, scratch_);
}

void Peer::flushOut() {
  if (!established_) return;
  std::vector<uint8_t> buf;
  for (int i = 0; i < kFamilyCount; ++i) {
    Family f = Family(i);
    OutQueue& q = out_[i];
    if (!q.withdraw.empty()) encodeUpdates(f, nullptr, {}, q.withdraw, codec_, buf);
    for (auto& [ptr, group] : q.announce) encodeUpdates(f, group.second.size() ? group.first.get() : nullptr, group.second, {}, codec_, buf);
    if (eorPending_[i]) encodeEndOfRib(f, buf);
    eorPending_[i] = false;
    q = OutQueue{};
  }
  if (buf.empty()) return;
  stats_.updatesOut++;
  stats_.messagesOut++;
  write(*established_, buf);
}

}  // namespace vrfabric::bgp
