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

// A flow routed between networks on this host has a second entry, in the VRF this one names.
vr_flow_key pair_of(const vr_flow_key& k, const vr_flow& f) {
  vr_flow_key r = k;
  r.vrf = f.pair_vrf;
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
    // A pair lives as long as either entry is active.
    uint64_t last = f.last_seen_ns;
    uint32_t flags = f.flags;
    auto r = f.pair_vrf && f.pair_vrf != k.vrf ? table.find(key_bytes(pair_of(k, f))) : table.end();
    if (r != table.end()) {
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
