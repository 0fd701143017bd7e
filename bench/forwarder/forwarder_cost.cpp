// Per-packet cost of the XDP forwarder, measured in the kernel with BPF_PROG_TEST_RUN in
// live-frames mode (each repetition gets a fresh copy of the frame, redirects really run),
// for the encapsulation and decapsulation paths with 10, 10k and 100k routes installed.
// The figure should not move with the table size. Runs in a private network namespace.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <random>
#include <vector>

#include "datapath.h"
#include "packet_builder.h"

using namespace vrfabric;
using namespace pkt;

namespace {

constexpr uint32_t kIf = 1, kVrf = 1, kNhTunnel = 10, kNhLocal = 11, kVni = 5000, kLabel = 1000;
constexpr uint32_t kNoSuchIfindex = 1u << 30;  // redirect target: the frame is freed after the lookup
const pkt::Mac kVmA{0x02, 0, 0, 0, 0, 0x0a}, kVmB{0x02, 0, 0, 0, 0, 0x0b}, kRouter{0, 0, 0x5e, 0, 1, 0};
const pkt::Mac kFab{0x0a, 0, 0, 0, 0, 1}, kFabPeer{0x0a, 0, 0, 0, 0, 2};

double ns_per_packet(int prog, const Bytes& frame, int repeat) {
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = kIf;
  std::vector<double> runs;
  for (int i = 0; i < 5; ++i) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    if (bpf_prog_test_run_opts(prog, &opts) != 0) throw std::runtime_error("BPF_PROG_TEST_RUN failed");
    runs.push_back(opts.duration);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

void fill(Datapath& dp, uint32_t n) {
  std::mt19937 rng(42);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t a = htonl(0x0a000000u | (rng() & 0x00ffffffu));
    char buf[32];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    vr_fwd f{.nh_id = kNhTunnel, .label = kLabel + i % 1000, .flags = VR_FWD_F_HAS_MAC | VR_FWD_F_HOST};
    dp.set_route(kVrf, Prefix::parse(std::string(buf) + (i % 4 ? "/32" : "/24")), f);
    vrfabric::Mac m{0x02, 1, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 9};
    dp.set_l2(kVrf, m, f);
    if (i < VR_MAX_LABELS / 2) dp.set_label(20000 + i, kNhLocal);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = argc > 1 ? std::atoi(argv[1]) : 2'000'000;
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare (run as root)");
    return 1;
  }
  std::printf("XDP per-packet cost (BPF_PROG_TEST_RUN, live frames, %d packets x 5 runs, median)\n", repeat);
  std::printf("%-10s %22s %22s %22s\n", "routes", "encap MPLSoUDP (ns)", "decap VXLAN (ns)", "decap MPLSoUDP (ns)");
  for (uint32_t n : {10u, 10'000u, 100'000u}) {
    Datapath dp;
    vr_config cfg{};
    std::copy(kRouter.begin(), kRouter.end(), cfg.router_mac);
    inet_pton(AF_INET, "192.0.2.1", &cfg.fabric_ip);
    dp.set_config(cfg);
    vr_iface ifc{.vrf = kVrf, .kind = VR_IFACE_WORKLOAD};
    std::copy(kVmA.begin(), kVmA.end(), ifc.mac);
    dp.set_iface(kIf, ifc);
    vr_nexthop tun{.type = VR_NH_TUNNEL, .encap = VR_ENCAP_MPLSUDP, .ifindex = kNoSuchIfindex};
    inet_pton(AF_INET, "192.0.2.1", &tun.tun_src);
    inet_pton(AF_INET, "192.0.2.2", &tun.tun_dst);
    dp.set_nexthop(kNhTunnel, tun);
    dp.set_nexthop(kNhLocal, vr_nexthop{.type = VR_NH_IFACE, .ifindex = kNoSuchIfindex});
    dp.set_vni(kVni, kVrf);
    fill(dp, n);
    vr_fwd target{.nh_id = kNhTunnel, .label = kLabel, .flags = VR_FWD_F_HAS_MAC | VR_FWD_F_HOST};
    std::copy(kVmB.begin(), kVmB.end(), target.mac);
    dp.set_route(kVrf, Prefix::parse("10.200.0.7/32"), target);
    dp.set_l2(kVrf, vrfabric::Mac(kVmB), vr_fwd{.nh_id = kNhLocal});
    dp.set_label(kLabel, kNhLocal);

    // 64-byte frames on the wire: 60 bytes plus the FCS.
    Bytes inner = eth(kRouter, kVmA, 0x0800) + ipv4("10.1.1.10", "10.200.0.7", 17, udp(1000, 2000, Bytes(18, 0)));
    Bytes bridged = eth(kVmB, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.1.11", 17, udp(1000, 2000, Bytes(18, 0)));
    auto outer = [&](const Bytes& l4) { return eth(kFab, kFabPeer, 0x0800) + ipv4("192.0.2.2", "192.0.2.1", 17, l4); };
    double encap = ns_per_packet(dp.workload_prog_fd(), inner, repeat);
    double vx = ns_per_packet(dp.fabric_prog_fd(), outer(udp(50000, 4789, vxlan(kVni, bridged))), repeat);
    double mp = ns_per_packet(dp.fabric_prog_fd(), outer(udp(50000, 6635, mpls(kLabel, bridged))), repeat);
    auto c = dp.counters();
    if (c[VR_CNT_ENCAP_MPLSUDP] == 0 || c[VR_CNT_DECAP_VXLAN] == 0 || c[VR_CNT_DECAP_MPLSUDP] == 0) {
      std::fprintf(stderr, "the measured paths did not run (check counters)\n");
      return 1;
    }
    std::printf("%-10u %22.1f %22.1f %22.1f\n", n, encap, vx, mp);
  }
  return 0;
}
