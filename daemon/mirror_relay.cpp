#include "mirror_relay.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <poll.h>
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
  udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(kMirrorPort);
  at.sin_addr.s_addr = state.config().fabric_ip;
  if (udp_ < 0 || bind(udp_, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0) {
    int err = errno;
    close(sock_);
    if (udp_ >= 0) close(udp_);
    throw AgentError(fmt::format("mirror: UDP port {} on {}: {}", kMirrorPort, ipv4_str(state.config().fabric_ip),
                                 std::strerror(err)));
  }
  auto sample = [](void* self, int, void* data, __u32 size) { static_cast<MirrorRelay*>(self)->on_copy(data, size); };
  auto lost = [](void* self, int, __u64 n) { static_cast<MirrorRelay*>(self)->lost_ += n; };
  pb_ = perf_buffer__new(state.datapath().mirror_map_fd(), 64, sample, lost, this, nullptr);
  if (!pb_) {
    close(sock_);
    close(udp_);
    throw AgentError(fmt::format("mirror: perf buffer: {}", std::strerror(errno)));
  }
  thread_ = std::thread([this] {
    while (!stop_) perf_buffer__poll(pb_, 200);
  });
  udp_thread_ = std::thread([this] {
    std::vector<uint8_t> buf(65536);
    while (!stop_) {
      pollfd p{udp_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      ssize_t n = recv(udp_, buf.data(), buf.size(), 0);
      if (n > 0) on_datagram(buf.data(), static_cast<size_t>(n));
    }
  });
}

MirrorRelay::~MirrorRelay() {
  stop_ = true;
  thread_.join();
  udp_thread_.join();
  perf_buffer__free(pb_);
  close(sock_);
  close(udp_);
  if (lost_ || failed_ || no_analyzer_)
    spdlog::info("mirror: {} copies lost in the perf buffer, {} not sent, {} without an analyzer", lost_.load(),
                 failed_.load(), no_analyzer_.load());
}

void MirrorRelay::deliver(int ifindex, const uint8_t* frame, size_t len) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = ETH_ALEN;
  std::memcpy(to.sll_addr, frame, ETH_ALEN);
  if (sendto(sock_, frame, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != static_cast<ssize_t>(len) &&
      failed_++ == 0)
    spdlog::warn("mirror: cannot send a copy to ifindex {}: {}", ifindex, std::strerror(errno));
}

void MirrorRelay::on_copy(const void* data, uint32_t size) {
  vr_mirror_meta meta;
  if (size < sizeof meta) return;
  std::memcpy(&meta, data, sizeof meta);
  if (meta.len > size - sizeof meta || meta.len < sizeof(ether_header)) return;
  const auto* frame = static_cast<const uint8_t*>(data) + sizeof meta;
  int ifindex = 0;
  uint32_t remote = 0;
  std::string analyzer;
  {
    std::lock_guard lk(state_mu_);
    const PolicySpec& p = state_.policy();
    if (auto a = p.analyzers.find(meta.rule_id); a != p.analyzers.end()) {
      analyzer = a->second;
      if (auto ifc = state_.interfaces().find(analyzer); ifc != state_.interfaces().end())
        ifindex = ifc->second.ifindex;
      else if (auto h = p.analyzer_hosts.find(analyzer); h != p.analyzer_hosts.end())
        remote = h->second;
    }
  }
  if (ifindex) return deliver(ifindex, frame, meta.len);
  if (remote && remote != state_.config().fabric_ip) {
    auto d = encode_mirror_datagram(analyzer, frame, meta.len);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kMirrorPort);
    to.sin_addr.s_addr = remote;
    if (sendto(udp_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 && failed_++ == 0)
      spdlog::warn("mirror: cannot relay a copy to {}: {}", ipv4_str(remote), std::strerror(errno));
    return;
  }
  if (no_analyzer_++ == 0) spdlog::info("mirror: rule {} has no reachable analyzer: copies dropped", meta.rule_id);
}

// A copy from another host's agent: handed over only to a local interface that the current
// policy names as an analyzer, so the fabric cannot inject into other workloads this way.
void MirrorRelay::on_datagram(const uint8_t* data, size_t len) {
  auto d = decode_mirror_datagram(data, len);
  if (!d) return;
  int ifindex = 0;
  {
    std::lock_guard lk(state_mu_);
    bool analyzer = false;
    for (auto& [id, name] : state_.policy().analyzers) analyzer |= name == d->analyzer;
    auto ifc = state_.interfaces().find(d->analyzer);
    if (analyzer && ifc != state_.interfaces().end()) ifindex = ifc->second.ifindex;
  }
  if (ifindex) deliver(ifindex, d->frame, d->len);
}

}  // namespace vrfabric
