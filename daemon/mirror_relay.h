#pragma once
// Mirroring, the agent's half: the forwarder hands over a copy of every packet of a flow
// whose rule mirrors (vr_mirror perf buffer); this relay sends each copy out of the rule's
// analyzer interface, so the analyzer workload receives the frames as they entered the
// forwarder. When the analyzer is on another host (the controller says which), the copy
// goes there over the fabric in a UDP datagram to port kMirrorPort, and that host's agent
// hands it to the analyzer. Copies with nowhere to go are counted and dropped.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "agent_state.h"
#include "mirror_datagram.h"

struct perf_buffer;

namespace vrfabric {

class MirrorRelay {
 public:
  MirrorRelay(AgentState& state, std::mutex& state_mu);
  ~MirrorRelay();
  MirrorRelay(const MirrorRelay&) = delete;
  MirrorRelay& operator=(const MirrorRelay&) = delete;

 private:
  AgentState& state_;
  std::mutex& state_mu_;
  perf_buffer* pb_ = nullptr;
  int sock_ = -1;  // packet socket: out of analyzer veths
  int udp_ = -1;   // datagrams from and to other hosts' agents
  std::atomic<bool> stop_{false};
  // Copies the forwarder counts (mirrored, mirror_failed); these say what became of them here.
  std::atomic<uint64_t> no_analyzer_{0}, failed_{0}, lost_{0};
  std::thread thread_, udp_thread_;

  void on_copy(const void* data, uint32_t size);
  void on_datagram(const uint8_t* data, size_t len);
  void deliver(int ifindex, const uint8_t* frame, size_t len);
};

}  // namespace vrfabric
