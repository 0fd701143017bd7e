#include "mirror_relay.h"

#include <bpf/libbpf.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>

namespace vrfabric {

MirrorRelay::MirrorRelay(AgentState& state, std::mutex& state_mu) : state_(state), state_mu_(state_mu) {
  // Protocol 0: a socket that only sends, so it never queues the host's own traffic.
  sock_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (sock_ < 0) throw AgentError(fmt::format("mirror: packet socket: {}", std::strerror(errno)));
  auto sample = [](void* self, int, void* data, __u32 size) { static_cast<MirrorRelay*>(self)->on_copy(data, size); };
  auto lost = [](void* self, int, __u64 n) { static_cast<MirrorRelay*>(self)->lost_ += n; };
  pb_ = perf_buffer__new(state.datapath().mirror_map_fd(), 64, sample, lost, this, nullptr);
  if (!pb_) {
    close(sock_);
    throw AgentError(fmt::format("mirror: perf buffer: {}", std::strerror(errno)));
  }
  thread_ = std::thread([this] {
    while (!stop_) perf_buffer__poll(pb_, 200);
  });
}

MirrorRelay::~MirrorRelay() {
  stop_ = true;
  thread_.join();
  perf_buffer__free(pb_);
  close(sock_);
  if (lost_) spdlog::warn("mirror: {} copies lost in the perf buffer", lost_.load());
}

void MirrorRelay::on_copy(const void* data, uint32_t size) {
  vr_mirror_meta meta;
  if (size < sizeof meta) return;
  std::memcpy(&meta, data, sizeof meta);
  if (meta.len > size - sizeof meta || meta.len < sizeof(ether_header)) return;
  int ifindex = 0;
  {
    std::lock_guard lk(state_mu_);
    auto a = state_.policy().analyzers.find(meta.rule_id);
    if (a != state_.policy().analyzers.end())
      if (auto ifc = state_.interfaces().find(a->second); ifc != state_.interfaces().end()) ifindex = ifc->second.ifindex;
  }
  if (!ifindex) {
    if (no_analyzer_++ == 0) spdlog::info("mirror: rule {} has no analyzer on this host: copies dropped", meta.rule_id);
    return;
  }
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = ETH_ALEN;
  const auto* frame = static_cast<const uint8_t*>(data) + sizeof meta;
  std::memcpy(to.sll_addr, frame, ETH_ALEN);
  if (sendto(sock_, frame, meta.len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == static_cast<ssize_t>(meta.len))
    sent_++;
  else if (failed_++ == 0)
    spdlog::warn("mirror: cannot send a copy to ifindex {}: {}", ifindex, std::strerror(errno));
}

}  // namespace vrfabric
