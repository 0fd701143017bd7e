// Per-packet cost of policy in the XDP forwarder with 10, 1k and 10k compiled rules
// (BPF_PROG_TEST_RUN): packets of an established flow (one flow-table hit) and the first
// packet of a new flow (endpoint-group and rule lookups plus one flow-table insert).
// Neither should grow with the number of rules. Runs in a private network namespace.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "datapath.h"
#include "packet_builder.h"

using namespace vrfabric;
using namespace pkt;

namespace {

constexpr uint32_t kIf = 1, kVrf = 1, kNhLocal = 11, kNoSuchIfindex = 1u << 30;
constexpr uint32_t kSrcEpg = 1, kDstEpg = 2;
const pkt::Mac kA{0x02, 0, 0, 0, 0, 0x0a}, kB{0x02, 0, 0, 0, 0, 0x0b};

uint32_t run(int prog, const Bytes& frame, int repeat, uint32_t flags) {
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = kIf;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
              .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = repeat, .flags = flags);
  if (bpf_prog_test_run_opts(prog, &opts) != 0) throw std::runtime_error("BPF_PROG_TEST_RUN failed");
  return opts.duration;
}

Bytes frame(uint16_t sport) {
  return eth(kB, kA, 0x0800) + ipv4("10.1.1.10", "10.1.1.11", 17, udp(sport, 5432, Bytes(18, 0)));
}

}  // namespace

int main() {
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare (run as root)");
    return 1;
  }
  std::printf("XDP per-packet cost with policy (BPF_PROG_TEST_RUN, ns)\n");
  std::printf("  established: one flow, 1M repeats; no policy: the same without the flow table;\n");
  std::printf("  first packet: 20,000 new flows, one run each (median), and the same packets once more\n");
  std::printf("  (flow hits, also one run each: the cost of a single run); setup = the difference\n");
  std::printf("%-8s %12s %10s %14s %14s %8s\n", "rules", "established", "no policy", "first packet", "hit, 1 run", "setup");
  for (uint32_t n : {10u, 1000u, 10000u}) {
    Datapath dp;
    vr_config cfg{};
    dp.set_config(cfg);
    vr_iface ifc{.vrf = kVrf, .kind = VR_IFACE_WORKLOAD};
    std::copy(kA.begin(), kA.end(), ifc.mac);
    dp.set_nexthop(kNhLocal, vr_nexthop{.type = VR_NH_IFACE, .ifindex = kNoSuchIfindex});
    dp.set_l2(kVrf, vrfabric::Mac(kB), vr_fwd{.nh_id = kNhLocal});
    dp.set_iface(kIf, ifc);
    dp.set_guard_addr(kIf, Prefix::parse("10.1.1.10/32"));  // the source guard lets A's own address through
    uint32_t plain = run(dp.workload_prog_fd(), frame(1000), 1'000'000, BPF_F_TEST_XDP_LIVE_FRAMES);
    ifc.flags = VR_IFACE_F_POLICY;
    dp.set_iface(kIf, ifc);
    dp.set_epg(kVrf, Prefix::parse("10.1.1.10/32"), kSrcEpg);
    dp.set_epg(kVrf, Prefix::parse("10.1.1.11/32"), kDstEpg);
    // n rules: the one that passes our flows, the rest between other groups and ports.
    for (uint32_t i = 0; i < n; ++i) {
      vr_rule_key k{};
      k.prefixlen = 32 + 32 + 8 + 8 + 16;
      k.src_epg = i == 0 ? kSrcEpg : 100 + i % 97;
      k.dst_epg = i == 0 ? kDstEpg : 200 + i / 97;
      k.proto = 17;
      k.dport = htons(i == 0 ? 5432 : static_cast<uint16_t>(1 + i));
      dp.set_rule(k, vr_rule{.action = VR_ACT_PASS, .rule_id = i + 1});
    }
    uint32_t established = run(dp.workload_prog_fd(), frame(1000), 1'000'000, BPF_F_TEST_XDP_LIVE_FRAMES);
    // Each new flow's first packet, then the same packet again (a hit), one run each and
    // interleaved, so both pay the same cost of a single run.
    std::vector<uint32_t> first, again;
    for (uint16_t sport = 2000; sport < 22000; ++sport) {
      first.push_back(run(dp.workload_prog_fd(), frame(sport), 1, 0));
      again.push_back(run(dp.workload_prog_fd(), frame(sport), 1, 0));
    }
    std::sort(first.begin(), first.end());
    std::sort(again.begin(), again.end());
    auto c = dp.counters();
    if (c[VR_CNT_FLOW_NEW] < 20000 || c[VR_CNT_FLOW_HIT] == 0) {
      std::fprintf(stderr, "the flow paths did not run as intended\n");
      return 1;
    }
    uint32_t f = first[first.size() / 2], h = again[again.size() / 2];
    std::printf("%-8u %12u %10u %14u %14u %8d\n", n, established, plain, f, h, static_cast<int>(f) - static_cast<int>(h));
  }
  return 0;
}
