#pragma once
// The agent's local API: newline-delimited JSON over a unix socket. One request per line,
// {"op": "...", ...}; one reply per line, {"ok": true, "result": ...} or
// {"ok": false, "error": "..."}. The controller integration drives the same operations.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_state.h"

namespace vrfabric {

// Parses and executes one request against the state; never throws.
nlohmann::json handle_request(AgentState& state, const std::string& line);

class LocalApiServer {
 public:
  // state_mu serialises requests with the agent's other writers (the EVPN importer).
  LocalApiServer(AgentState& state, std::mutex& state_mu, std::string path);
  ~LocalApiServer();
  void start();
  void stop();

 private:
  AgentState& state_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> running_{false};
  std::thread acceptor_;
  std::mutex& state_mu_;
  std::mutex conns_mu_;
  std::vector<std::thread> conns_;
  std::vector<int> conn_fds_;
  void serve(int fd);
};

}  // namespace vrfabric
