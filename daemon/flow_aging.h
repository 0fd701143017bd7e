#pragma once
// Ages the flow table: a flow whose two directions have both been idle longer than their
// timeout is removed (TCP after FIN/RST quickly, established TCP after minutes, others
// after a minute), so the table keeps room for new flows without evicting live ones.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "datapath.h"

namespace vrfabric {

struct FlowTimeouts {
  uint64_t closing_ns = 5'000'000'000ull;
  uint64_t tcp_ns = 600'000'000'000ull;
  uint64_t other_ns = 60'000'000'000ull;
};

// One pass over the table; returns how many entries were removed. now_ns is CLOCK_MONOTONIC.
size_t age_flows(Datapath& dp, uint64_t now_ns, const FlowTimeouts& t);

class FlowAger {
 public:
  FlowAger(Datapath& dp, std::mutex& mu, FlowTimeouts t = {});
  ~FlowAger();

 private:
  Datapath& dp_;
  std::mutex& mu_;
  FlowTimeouts t_;
  std::atomic<bool> stop_{false};
  std::mutex wait_mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace vrfabric
