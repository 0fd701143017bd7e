#pragma once
// An httplib::Server whose connections do not hold a thread while they are slow.
//
// httplib gives every accepted connection a worker thread for its whole life: reading
// the request head, waiting between keep-alive requests, and a per-recv() timeout that
// a client sending one byte every few seconds never trips. Here the accept thread only
// hands the socket to a waiting room (one epoll thread) that reads request heads and
// idles keep-alive connections; a worker is taken only once a head is complete, for
// that one request, and the connection returns to the waiting room afterwards. The
// head must arrive within header_timeout, the body within body_timeout, an idle
// connection is closed after idle_timeout. Requests never see a Range header
// (API answers are never split into ranges).
//
// With a TlsContext every connection is TLS: the handshake also happens in the waiting
// room (non-blocking, within tls_handshake_timeout), so a client that never completes
// it holds no thread either; a client speaking plain HTTP gets a 400 saying so.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "controller/http_tls.h"
#include "controller/http_worker_pool.h"

namespace vrf {

struct ConnectionSettings {
  size_t workers = 16;                // requests served at once
  size_t max_stream_threads = 512;    // extra threads for long-lived streams (watch, agent config)
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};  // a peer that reads nothing for this long is dropped
  size_t max_header_bytes = 64 * 1024;
  // Hard cap on the bytes one request may make us read, whatever its framing: a
  // backstop for routes that do not bound their body themselves (chunked, no length).
  size_t max_request_bytes = 16 << 20;
  // A connection closed with a refusal is first half-closed and drained (discarding)
  // for this long, so the client reads the answer instead of a reset.
  std::chrono::milliseconds linger{2000};
  size_t max_requests_per_connection = 10000;
  size_t max_connections = 8192;
  size_t max_connections_per_address = 256;
  std::shared_ptr<const TlsContext> tls;  // null: plain HTTP
  std::chrono::milliseconds tls_handshake_timeout{10000};
};

struct ConnectionStats {
  std::atomic<uint64_t> open{0}, idle{0};  // gauges: all connections, those in the waiting room
  std::atomic<uint64_t> head_timeouts{0}, idle_closed{0}, heads_too_large{0}, refused{0};
  std::atomic<uint64_t> tls_handshake_timeouts{0}, tls_handshake_failures{0}, tls_plain_http{0};
};

class ConnectionServer : public httplib::Server {
 public:
  explicit ConnectionServer(ConnectionSettings s);
  ~ConnectionServer() override;

  // State of the request being served on this thread, for the routing code: a handler
  // that answers without reading the body sets close_connection, since the unread body
  // would otherwise be taken for the next request.
  struct RequestContext {
    bool close_connection = false;
    bool read_timed_out = false;
  };
  static RequestContext* current_request();

  const ConnectionStats& stats() const { return *stats_; }
  WorkerPool::Stats pool_stats() { return pool_.stats(); }
  const ConnectionSettings& settings() const { return s_; }

  class WaitingRoom;
  struct Connection;
  class AddressLedger;

 private:
  bool process_and_close_socket(socket_t sock) override;  // called by httplib's accept loop
  void serve(std::shared_ptr<Connection> c);
  void shutdown_connections();

  ConnectionSettings s_;
  std::shared_ptr<ConnectionStats> stats_;
  std::shared_ptr<AddressLedger> ledger_;  // shared with the connections, which release their entry
  WorkerPool pool_;
  std::unique_ptr<WaitingRoom> room_;
  std::atomic<bool> stopping_{false};
};

}  // namespace vrf
