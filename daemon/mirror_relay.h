#pragma once
// Mirroring, the agent's half: the forwarder hands over a copy of every packet of a flow
// whose rule mirrors (vr_mirror perf buffer); this relay sends each copy out of the rule's
// analyzer interface, so the analyzer workload receives the frames as they entered the
// forwarder. Copies for an analyzer that is not on this host are counted and dropped.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "agent_state.h"

struct perf_buffer;

namespace vrfabric {

class MirrorRelay {
 public:
  MirrorRelay(AgentState& state, std::mutex& state_mu);
  ~MirrorRelay();
  MirrorRelay(const MirrorRelay&) = delete;
  MirrorRelay& operator=(const MirrorRelay&) = delete;

  uint64_t sent() const { return sent_; }
  uint64_t no_analyzer() const { return no_analyzer_; }

 private:
  AgentState& state_;
  std::mutex& state_mu_;
  perf_buffer* pb_ = nullptr;
  int sock_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, no_analyzer_{0}, failed_{0}, lost_{0};
  std::thread thread_;

  void on_copy(const void* data, uint32_t size);
};

}  // namespace vrfabric
