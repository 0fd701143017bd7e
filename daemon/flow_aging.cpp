#include "flow_aging.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <cstring>
#include <map>
#include <string>

namespace vrfabric {

namespace {
std::string key_bytes(const vr_flow_key& k) { return std::string(reinterpret_cast<const char*>(&k), sizeof k); }

// The other direction's entry: in the VRF the entry names (routes between networks).
vr_flow_key reverse(const vr_flow_key& k, const vr_flow& f) {
  vr_flow_key r = k;
  if (f.pair_vrf) r.vrf = f.pair_vrf;
  r.sport = k.dport;
  r.dport = k.sport;
  std::memcpy(r.src, k.dst, sizeof r.src);
  std::memcpy(r.dst, k.src, sizeof r.dst);
  return r;
}
}  // namespace

size_t age_flows(Datapath& dp, uint64_t now_ns, const FlowTimeouts& t) {
  std::map<std::string, vr_flow> table;
  for (auto& [k, f] : dp.flows()) table[key_bytes(k)] = f;
  size_t removed = 0;
  for (auto& [kb, f] : table) {
    vr_flow_key k;
    std::memcpy(&k, kb.data(), sizeof k);
    // A pair lives as long as either direction is active.
    uint64_t last = f.last_seen_ns;
    uint32_t flags = f.flags;
    if (auto r = table.find(key_bytes(reverse(k, f))); r != table.end()) {
      last = std::max<uint64_t>(last, r->second.last_seen_ns);
      flags |= r->second.flags;
    }
    uint64_t timeout = (flags & VR_FLOW_F_CLOSING) ? t.closing_ns : k.proto == IPPROTO_TCP ? t.tcp_ns : t.other_ns;
    if (now_ns > last && now_ns - last > timeout) {
      dp.del_flow(k);
      removed++;
    }
  }
  return removed;
}

FlowAger::FlowAger(Datapath& dp, std::mutex& mu, FlowTimeouts t) : dp_(dp), mu_(mu), t_(t) {
  thread_ = std::thread([this] {
    std::unique_lock lk(wait_mu_);
    while (!stop_) {
      cv_.wait_for(lk, std::chrono::seconds(1), [this] { return stop_.load(); });
      if (stop_) break;
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      std::lock_guard state(mu_);
      size_t n = age_flows(dp_, static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec), t_);
      if (n) spdlog::debug("aged out {} flow entries", n);
    }
  });
}

FlowAger::~FlowAger() {
  stop_ = true;
  cv_.notify_all();
  thread_.join();
}

}  // namespace vrfabric
