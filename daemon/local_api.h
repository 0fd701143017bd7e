#pragma once
// The agent's local API: newline-delimited JSON over a unix socket. One request per line,
// {"op": "...", ...}; one reply per line, {"ok": true, "result": ...} or
// {"ok": false, "error": "..."}. The controller integration drives the same operations.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_state.h"

namespace vrfabric {

// Parses and executes one request against the state; never throws.
nlohmann::json handle_request(AgentState& state, const std::string& line);

struct LocalApiOptions {
  std::string path;
  std::optional<std::string> socket_group;  // socket 0660 owned by this group; else 0600
  size_t max_connections = 64;              // one more is told so and closed
  int idle_timeout_ms = 60000;              // a connection with nothing to do is closed
  size_t workers = 2;                       // threads executing requests (they share state_mu)
  int listen_fd = -1;  // from listen_local_socket() when made early (before the datapath); else start() makes it
};

// One event thread owns every connection (epoll): it reads request lines, hands complete
// ones to a small fixed pool of workers and writes their replies back. A connection costs
// a buffer, never a thread, so neither many clients nor slow ones exhaust the agent.
class LocalApiServer {
 public:
  // state_mu serialises requests with the agent's other writers (the EVPN importer).
  LocalApiServer(AgentState& state, std::mutex& state_mu, LocalApiOptions opt);
  ~LocalApiServer();
  void start();
  void stop();
  size_t connections() const { return open_connections_.load(); }

 private:
  struct Connection;
  struct Done {
    int fd;
    uint64_t serial;
    std::string reply;
  };
  AgentState& state_;
  std::mutex& state_mu_;
  LocalApiOptions opt_;
  int listen_fd_ = -1, epoll_fd_ = -1, wake_fd_ = -1;
  ino_t socket_inode_ = 0;  // stop() removes the path only while it is still this socket
  std::atomic<bool> running_{false};
  std::atomic<size_t> open_connections_{0};
  std::thread loop_;
  std::vector<std::thread> workers_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::tuple<int, uint64_t, std::string>> jobs_;  // fd, connection serial, line
  std::vector<Done> done_;
  void run_loop();
  void run_worker();
  void wake();
};

}  // namespace vrfabric
