#pragma once
// Follows the controller's per-host config stream: registers this host, then reconciles the
// agent to every snapshot the stream carries. The first event after any (re)connection is
// the whole current snapshot, so a dropped stream or a restarted controller cannot leave a
// change behind; objects that failed to apply are retried until they succeed.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent_state.h"

namespace vrfabric {

struct ControllerSyncConfig {
  std::string url;         // http://HOST:PORT or https://HOST:PORT
  std::string ca_file;     // https: the CA the controller's certificate must chain to ("" = system CAs)
  std::string token;       // bearer token
  std::string host;        // this host's name, as VMIs' host_id names it
};

class ControllerSync {
 public:
  ControllerSync(AgentState& state, std::mutex& state_mu, ControllerSyncConfig cfg);
  ~ControllerSync();
  nlohmann::json status();

 private:
  AgentState& state_;
  std::mutex& state_mu_;
  ControllerSyncConfig cfg_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<nlohmann::json> last_;  // last snapshot, kept for retries
  int64_t revision_ = -1;
  int pending_failures_ = 0;
  bool connected_ = false;
  std::thread stream_, retry_;
  void run_stream();
  void run_retry();
  void apply(const nlohmann::json& snapshot);
};

}  // namespace vrfabric
