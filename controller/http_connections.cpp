#include "controller/http_connections.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace vrf {

using Clock = std::chrono::steady_clock;

namespace {

thread_local ConnectionServer::RequestContext* tl_request = nullptr;

std::string address_of(int fd, bool peer, int* port = nullptr) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if ((peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len)) != 0)
    return "";
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    if (port) *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    if (port) *port = ntohs(a->sin6_port);
  }
  return buf;
}

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms <= 0 ? 0 : int(std::min<int64_t>(ms, 1 << 30));
}

std::string final_error_text(int status, const char* reason, const std::string& message) {
  std::string body = R"({"error": {"status": )" + std::to_string(status) + R"(, "message": ")" + message + "\"}}";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Best effort, never blocks: the answer to a connection we are about to drop, in the
// clear (before TLS, or to a client that does not speak it).
void send_final_error(int fd, int status, const char* reason, const std::string& message) {
  std::string text = final_error_text(status, reason, message);
  (void)!::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

// Connections per client address, so that one address cannot take them all.
class ConnectionServer::AddressLedger {
 public:
  AddressLedger(size_t max_total, size_t max_per_address) : max_total_(max_total), max_per_(max_per_address) {}
  bool admit(const std::string& addr) {
    std::lock_guard lk(mu_);
    size_t& n = per_[addr];
    if (total_ >= max_total_ || n >= max_per_) {
      if (n == 0) per_.erase(addr);
      return false;
    }
    ++n;
    ++total_;
    return true;
  }
  void release(const std::string& addr) {
    std::lock_guard lk(mu_);
    --total_;
    if (auto it = per_.find(addr); it != per_.end() && --it->second == 0) per_.erase(it);
  }

 private:
  size_t max_total_, max_per_;
  std::mutex mu_;
  size_t total_ = 0;
  std::map<std::string, size_t> per_;
};

struct ConnectionServer::Connection {
  int fd;
  std::string peer;
  std::shared_ptr<ConnectionStats> stats;
  std::shared_ptr<AddressLedger> ledger;
  std::string buf;  // received, not yet parsed: the next request's head (and maybe more)
  size_t served = 0;
  Clock::time_point deadline;
  bool lingering = false;  // answered and half-closed: only draining until the peer closes
  size_t drained = 0;
  std::unique_ptr<TlsSession> tls;  // null on a plain connection
  uint32_t events = 0;               // what the waiting room's epoll waits for

  Connection(int f, std::string p, std::shared_ptr<ConnectionStats> s, std::shared_ptr<AddressLedger> l)
      : fd(f), peer(std::move(p)), stats(std::move(s)), ledger(std::move(l)) {
    ++stats->open;
  }
  ~Connection() {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    ledger->release(peer);
    --stats->open;
  }
  bool handshaking() const { return tls && !tls->established(); }

  // One non-blocking step of reading or writing, plain or TLS alike.
  IoStatus read_some(char* p, size_t size, size_t& n) {
    if (tls) return tls->read(p, size, n);
    ssize_t r = ::recv(fd, p, size, MSG_DONTWAIT);
    n = r > 0 ? size_t(r) : 0;
    if (r > 0) return IoStatus::ok;
    if (r == 0) return IoStatus::closed;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IoStatus::want_read : IoStatus::failed;
  }
  IoStatus write_some(const char* p, size_t size, size_t& n) {
    if (tls) return tls->write(p, size, n);
    ssize_t r = ::send(fd, p, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    n = r > 0 ? size_t(r) : 0;
    if (r >= 0) return IoStatus::ok;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IoStatus::want_write : IoStatus::failed;
  }
  // Whether bytes are buffered where epoll cannot see them (inside the TLS session).
  bool pending() const { return tls && tls->pending(); }
  void send_final_error(int status, const char* reason, const std::string& message) {
    if (!tls) return vrf::send_final_error(fd, status, reason, message);
    std::string text = final_error_text(status, reason, message);
    size_t n;
    if (tls->established()) tls->write(text.data(), text.size(), n);
  }
  bool head_complete() const { return buf.find("\r\n\r\n") != std::string::npos; }
  bool head_too_large(size_t max) const {
    auto end = buf.find("\r\n\r\n");
    return end == std::string::npos ? buf.size() > max : end + 4 > max;
  }
};

namespace {

// What httplib parses a request from: first the bytes the waiting room already read,
// then the socket, all before one deadline per request (not per recv()).
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(ConnectionServer::Connection& c, Clock::time_point read_deadline, std::chrono::milliseconds write_timeout,
                   size_t read_budget, bool& timed_out)
      : c_(c), read_deadline_(read_deadline), write_timeout_(write_timeout), budget_(read_budget), timed_out_(timed_out) {}

  bool is_readable() const override {
    return off_ < c_.buf.size() || c_.pending() || wait(POLLIN, remaining_ms(read_deadline_));
  }
  bool is_writable() const override {
    if (!wait(POLLOUT, int(write_timeout_.count()))) return false;
    if (!wait(POLLIN, 0)) return true;
    if (c_.tls) return !c_.tls->peer_closed();
    char b;  // a readable socket whose peek gives 0 bytes: the peer has closed
    return ::recv(c_.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
  }
  ssize_t read(char* ptr, size_t size) override {
    if (off_ >= c_.buf.size() && !refill()) return -1;
    size_t n = std::min(size, c_.buf.size() - off_);
    if (n > budget_) return -1;
    budget_ -= n;
    memcpy(ptr, c_.buf.data() + off_, n);
    off_ += n;
    return ssize_t(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (!is_writable()) return -1;
    auto deadline = Clock::now() + write_timeout_;
    for (;;) {
      size_t n = 0;
      switch (c_.write_some(ptr, size, n)) {
        case IoStatus::ok:
          if (n > 0) return ssize_t(n);
          [[fallthrough]];
        case IoStatus::want_write:
          if (!wait(POLLOUT, remaining_ms(deadline))) return -1;
          break;
        case IoStatus::want_read:  // TLS: a record from the peer must be read first
          if (!wait(POLLIN, remaining_ms(deadline))) return -1;
          break;
        default:
          return -1;
      }
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip = address_of(c_.fd, true, &port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip = address_of(c_.fd, false, &port); }
  socket_t socket() const override { return c_.fd; }

  // The bytes past this request (a pipelined next one) stay with the connection.
  void keep_unread() { c_.buf.erase(0, off_); }

 private:
  bool wait(short events, int timeout_ms) const {
    pollfd p{c_.fd, events, 0};
    int r;
    do r = ::poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0 && (p.revents & (events | POLLHUP | POLLERR));
  }
  bool refill() {
    c_.buf.clear();
    off_ = 0;
    char tmp[16384];
    for (;;) {
      size_t n = 0;
      IoStatus io = c_.read_some(tmp, sizeof tmp, n);
      if (io == IoStatus::ok) {
        c_.buf.assign(tmp, n);
        return true;
      }
      if (io != IoStatus::want_read && io != IoStatus::want_write) return false;
      if (!wait(io == IoStatus::want_read ? POLLIN : POLLOUT, remaining_ms(read_deadline_))) {
        timed_out_ = true;
        return false;
      }
    }
  }

  ConnectionServer::Connection& c_;
  size_t off_ = 0;
  Clock::time_point read_deadline_;
  std::chrono::milliseconds write_timeout_;
  size_t budget_;
  bool& timed_out_;
};

}  // namespace

// One epoll thread holding every connection that is not being served: those whose
// request head is still arriving and those idling between keep-alive requests.
class ConnectionServer::WaitingRoom {
 public:
  using Dispatch = std::function<void(std::shared_ptr<Connection>)>;
  WaitingRoom(const ConnectionSettings& s, ConnectionStats& stats, Dispatch dispatch)
      : s_(s), stats_(stats), dispatch_(std::move(dispatch)), ep_(epoll_create1(EPOLL_CLOEXEC)),
        wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (ep_ < 0 || wake_ < 0) throw std::runtime_error("cannot create the connection waiting room");
    watch(wake_, EPOLLIN);
    thread_ = std::thread([this] { loop(); });
  }
  ~WaitingRoom() { stop(); }

  // From any thread: `c` waits here for its next request head (or, lingering, for its
  // peer to close).
  void park(std::shared_ptr<Connection> c) {
    {
      std::lock_guard lk(mu_);
      if (stopped_) return;  // dropping `c` closes it
      incoming_.push_back(std::move(c));
    }
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
  }

  void stop() {
    {
      std::lock_guard lk(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    parked_.clear();
    incoming_.clear();
    ::close(ep_);
    ::close(wake_);
  }

 private:
  void loop() {
    std::vector<epoll_event> events(256);
    auto next_sweep = Clock::now();
    for (;;) {
      int n = epoll_wait(ep_, events.data(), int(events.size()), 100);
      {
        std::lock_guard lk(mu_);
        if (stopped_) return;
      }
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == wake_) {
          uint64_t v;
          (void)!::read(wake_, &v, sizeof v);
          continue;
        }
        auto it = parked_.find(events[i].data.fd);
        if (it != parked_.end()) on_readable(it);
      }
      admit_incoming();
      if (Clock::now() >= next_sweep) {
        sweep();
        next_sweep = Clock::now() + std::chrono::milliseconds(100);
      }
      stats_.idle = parked_.size();
    }
  }

  void admit_incoming() {
    std::vector<std::shared_ptr<Connection>> batch;
    {
      std::lock_guard lk(mu_);
      batch.swap(incoming_);
    }
    for (auto& c : batch) {
      if (c->lingering) {
        start_lingering(*c);
        if (watch(*c)) parked_[c->fd] = std::move(c);
        continue;
      }
      if (c->handshaking()) {  // a new TLS connection: its handshake has this long
        c->deadline = Clock::now() + s_.tls_handshake_timeout;
        if (watch(*c)) parked_[c->fd] = std::move(c);
        continue;
      }
      if (c->head_complete() && !c->head_too_large(s_.max_header_bytes)) {  // pipelined: the next request was read with the last one
        dispatch_(std::move(c));
        continue;
      }
      // Between requests the connection may idle; a new one should speak at once.
      bool idle_between_requests = c->buf.empty() && c->served > 0;
      c->deadline = Clock::now() + (idle_between_requests ? s_.idle_timeout : s_.header_timeout);
      if (!watch(*c)) continue;  // dropping it closes it
      bool more = c->pending();   // the rest of a head read into the TLS session already
      auto it = parked_.emplace(c->fd, std::move(c)).first;
      if (more) on_readable(it);
    }
  }

  void start_lingering(Connection& c) {
    c.lingering = true;
    c.buf.clear();
    c.deadline = Clock::now() + s_.linger;
    if (c.tls) c.tls->close_notify();
    ::shutdown(c.fd, SHUT_WR);  // our answer is complete: FIN after it
    if (c.events) wait_for(c, IoStatus::want_read);  // draining needs input only
  }

  void on_readable(std::map<int, std::shared_ptr<Connection>>::iterator it) {
    Connection& c = *it->second;
    char tmp[16384];
    if (c.lingering) {  // discarded, never kept; a peer that sends more than this is reset
      constexpr size_t kMaxDrained = 1 << 20;
      for (;;) {
        ssize_t n = ::recv(c.fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (c.drained += size_t(n)) > kMaxDrained) break;
      }
      drop(it);
      return;
    }
    if (c.handshaking() && !advance_handshake(it)) return;
    bool was_idle = c.buf.empty();
    for (;;) {
      size_t n = 0;
      IoStatus io = c.read_some(tmp, sizeof tmp, n);
      if (io == IoStatus::ok) {
        c.buf.append(tmp, n);
        if (c.buf.size() > s_.max_header_bytes) break;
        continue;
      }
      if (io == IoStatus::want_read || io == IoStatus::want_write) {
        wait_for(c, io);
        break;
      }
      drop(it);  // closed by the peer or failed
      return;
    }
    if (c.head_too_large(s_.max_header_bytes)) {
      ++stats_.heads_too_large;
      c.send_final_error(431, "Request Header Fields Too Large",
                       "request head larger than " + std::to_string(s_.max_header_bytes) + " bytes");
      start_lingering(c);
    } else if (c.head_complete()) {
      auto conn = std::move(it->second);
      drop(it);
      dispatch_(std::move(conn));
    } else if (was_idle && !c.buf.empty()) {
      c.deadline = Clock::now() + s_.header_timeout;  // a request began: its head has this long
    }
  }

  // True once the connection can carry requests; false if it was dropped or still
  // needs the peer.
  bool advance_handshake(std::map<int, std::shared_ptr<Connection>>::iterator it) {
    Connection& c = *it->second;
    IoStatus io = c.tls->handshake();
    if (io == IoStatus::ok) {
      c.deadline = Clock::now() + s_.header_timeout;  // the first request head, from now
      wait_for(c, IoStatus::want_read);
      return true;
    }
    if (io == IoStatus::want_read || io == IoStatus::want_write) {
      wait_for(c, io);
      return false;
    }
    if (c.tls->spoke_plain_http()) {  // say so in its language, then close
      ++stats_.tls_plain_http;
      send_final_error(c.fd, 400, "Bad Request", "this port speaks HTTPS: use an https:// URL");
      start_lingering(c);
      return false;
    }
    ++stats_.tls_handshake_failures;
    spdlog::debug("TLS handshake with {} failed: {}", c.peer, c.tls->error());
    drop(it);
    return false;
  }

  void sweep() {
    auto now = Clock::now();
    for (auto it = parked_.begin(); it != parked_.end();) {
      auto cur = it++;
      Connection& c = *cur->second;
      if (c.deadline > now) continue;
      if (c.handshaking() && !c.lingering) {  // nothing can be said to it before the handshake
        ++stats_.tls_handshake_timeouts;
        drop(cur);
        continue;
      }
      if (c.lingering || c.buf.empty()) {
        if (!c.lingering) ++stats_.idle_closed;
        drop(cur);
        continue;
      }
      ++stats_.head_timeouts;
      c.send_final_error(408, "Request Timeout",
                       "request head not received within " + std::to_string(s_.header_timeout.count()) + " ms");
      start_lingering(c);
    }
  }

  bool watch(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    return epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }
  bool watch(Connection& c) {
    c.events = EPOLLIN | EPOLLRDHUP;
    return watch(c.fd, c.events);
  }
  // A TLS step may need the socket writable (a handshake flight larger than the send
  // buffer) before it can go on reading.
  void wait_for(Connection& c, IoStatus io) {
    uint32_t want = (io == IoStatus::want_write ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP;
    if (want == c.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = c.fd;
    if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.events = want;
  }

  void drop(std::map<int, std::shared_ptr<Connection>>::iterator it) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, it->first, nullptr);
    parked_.erase(it);  // closes it unless it was moved out for dispatch
  }

  const ConnectionSettings& s_;
  ConnectionStats& stats_;
  Dispatch dispatch_;
  int ep_, wake_;
  std::mutex mu_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<Connection>> incoming_;
  std::map<int, std::shared_ptr<Connection>> parked_;  // only the room's thread touches it
  std::thread thread_;
};

namespace {

// httplib runs the task queue's jobs for every accepted socket. Ours only hands the
// socket to the waiting room, which is quick, so it runs on the accept thread itself.
class AcceptQueue : public httplib::TaskQueue {
 public:
  explicit AcceptQueue(std::function<void()> on_shutdown) : on_shutdown_(std::move(on_shutdown)) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { on_shutdown_(); }

 private:
  std::function<void()> on_shutdown_;
};

}  // namespace

ConnectionServer::ConnectionServer(ConnectionSettings s)
    : s_(s),
      stats_(std::make_shared<ConnectionStats>()),
      ledger_(std::make_shared<AddressLedger>(s_.max_connections, s_.max_connections_per_address)),
      pool_(s_.workers, s_.max_stream_threads) {
  room_ = std::make_unique<WaitingRoom>(s_, *stats_, [this](std::shared_ptr<Connection> c) {
    if (!pool_.submit([this, c] { serve(c); })) return;  // shutting down: dropping it closes it
  });
  new_task_queue = [this] { return new AcceptQueue([this] { shutdown_connections(); }); };
  // Only used for the Keep-Alive header httplib writes; the limits themselves are ours.
  set_keep_alive_timeout(std::max<time_t>(1, std::chrono::duration_cast<std::chrono::seconds>(s_.idle_timeout).count()));
  set_keep_alive_max_count(s_.max_requests_per_connection);
  set_write_timeout(std::chrono::duration_cast<std::chrono::seconds>(s_.write_timeout).count());
}

ConnectionServer::~ConnectionServer() { shutdown_connections(); }

ConnectionServer::RequestContext* ConnectionServer::current_request() { return tl_request; }

bool ConnectionServer::process_and_close_socket(socket_t sock) {
  std::string peer = address_of(sock, true);
  if (stopping_ || !ledger_->admit(peer)) {
    ++stats_->refused;
    if (!s_.tls) send_final_error(sock, 503, "Service Unavailable", "too many connections");
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return false;
  }
  auto c = std::make_shared<Connection>(sock, peer, stats_, ledger_);
  if (s_.tls) {
    // Non-blocking: no OpenSSL call may wait inside a read or write for a slow peer.
    if (::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK) != 0) return false;
    try {
      c->tls = std::make_unique<TlsSession>(*s_.tls, sock);
    } catch (const std::exception& e) {
      spdlog::warn("{}", e.what());
      return false;
    }
  }
  room_->park(std::move(c));
  return true;
}

void ConnectionServer::serve(std::shared_ptr<Connection> c) {
  RequestContext ctx;
  tl_request = &ctx;
  ConnectionStream strm(*c, Clock::now() + s_.body_timeout, s_.write_timeout, s_.max_request_bytes, ctx.read_timed_out);
  bool last = ++c->served >= s_.max_requests_per_connection || stopping_;
  bool closed_by_client = false;
  bool ok = process_request(strm, last, closed_by_client, [](httplib::Request& req) { req.ranges.clear(); });
  tl_request = nullptr;
  if (ctx.close_connection) {  // answered without reading all of the request
    c->lingering = true;
    room_->park(std::move(c));
    return;
  }
  if (!ok || last || closed_by_client || ctx.read_timed_out) return;  // closes it
  strm.keep_unread();
  room_->park(std::move(c));
}

void ConnectionServer::shutdown_connections() {
  stopping_ = true;
  if (room_) room_->stop();
  pool_.shutdown();
}

}  // namespace vrf
