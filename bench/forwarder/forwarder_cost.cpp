// Per-packet cost of the XDP forwarder, measured in the kernel with BPF_PROG_TEST_RUN in
// live-frames mode (each repetition gets a fresh copy of the frame, redirects really run),
// for the encapsulation and decapsulation paths with 10, 10k and 100k routes installed.
// The figure should not move with the table size. Runs in a private network namespace.
// The workload's packets pass the source guard: from its own address (one hash lookup) and
// from an allowed address pair (hash miss, then one LPM lookup), with the guard tables also
// holding other ports' addresses and pairs. Every measured packet must take the intended
// path: the path's counter must grow by exactly the packets sent and no drop be counted.
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
const pkt::Mac kVmA{0x02, 0, 0, 0, 0, 0x0a}, kVmB{0x02, 0, 0, 0, 0, 0x0b}, kVmC{0x02, 0, 0, 0, 0, 0x0c};
const pkt::Mac kRouter{0, 0, 0x5e, 0, 1, 0};
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

// Other ports' guard entries: the lookups are keyed by ifindex, so they must not matter.
void fill_guard(Datapath& dp, uint32_t n) {
  uint32_t addrs = std::min<uint32_t>(n, VR_MAX_GUARD_ADDRS - 16), pairs = std::min<uint32_t>(n, VR_MAX_GUARD_PAIRS - 16);
  for (uint32_t i = 0; i < addrs; ++i) {
    uint32_t a = htonl(0x0a000000u | i);
    char buf[32];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    dp.set_guard_addr(100 + i % 4000, Prefix::parse(buf));
  }
  for (uint32_t i = 0; i < pairs; ++i) {
    uint32_t a = htonl(0x0b000000u | i << 4);
    char buf[32];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    dp.set_guard_pair(100 + i % 4000, Prefix::parse(std::string(buf) + (i % 2 ? "/28" : "/32")), vrfabric::Mac{});
  }
}

// The per-packet cost of one path, checked to be that path: `counter` grows by every
// packet run and no drop is counted.
double measure(Datapath& dp, int prog, const Bytes& frame, int repeat, vr_counter counter, const char* what) {
  auto before = dp.counters();
  double ns = ns_per_packet(prog, frame, repeat);
  auto after = dp.counters();
  uint64_t runs = 5ull * static_cast<uint64_t>(repeat);
  uint64_t drops = 0;
  for (int i = VR_CNT_DROP_TRUNCATED; i <= VR_CNT_DROP_POLICY; ++i) drops += after[i] - before[i];
  if (after[counter] - before[counter] != runs || drops != 0) {
    std::fprintf(stderr, "%s: %llu of %llu packets took the path (%s), %llu dropped\n", what,
                 static_cast<unsigned long long>(after[counter] - before[counter]),
                 static_cast<unsigned long long>(runs), Datapath::counter_name(counter),
                 static_cast<unsigned long long>(drops));
    std::exit(1);
  }
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = argc > 1 ? std::atoi(argv[1]) : 2'000'000;
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare (run as root)");
    return 1;
  }
  std::printf("XDP per-packet cost (BPF_PROG_TEST_RUN, live frames, %d packets x 5 runs, median)\n", repeat);
  std::printf("%-10s %14s %14s %18s %18s %16s\n", "routes", "guard entries", "encap MPLSoUDP",
              "encap, from pair", "decap VXLAN", "decap MPLSoUDP");
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
    fill_guard(dp, n);
    dp.set_guard_addr(kIf, Prefix::parse("10.1.1.10/32"));
    dp.set_guard_pair(kIf, Prefix::parse("10.1.2.0/24"), vrfabric::Mac{});
    auto guard = dp.guard_counts();
    vr_fwd target{.nh_id = kNhTunnel, .label = kLabel, .flags = VR_FWD_F_HAS_MAC | VR_FWD_F_HOST};
    std::copy(kVmB.begin(), kVmB.end(), target.mac);
    dp.set_route(kVrf, Prefix::parse("10.200.0.7/32"), target);
    dp.set_l2(kVrf, vrfabric::Mac(kVmB), vr_fwd{.nh_id = kNhLocal});
    dp.set_l2(kVrf, vrfabric::Mac(kVmC), vr_fwd{.nh_id = kNhTunnel, .label = kLabel});  // on another host
    dp.set_label(kLabel, kNhLocal);

    // 64-byte frames on the wire: 60 bytes plus the FCS.
    // Live frames are recycled without their data being copied again: a routed frame
    // (MACs rewritten, TTL decremented) would come back as another path's frame. Bridged
    // encapsulation only prepends, so every repetition is the same packet.
    Bytes inner = eth(kVmC, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.1.12", 17, udp(1000, 2000, Bytes(18, 0)));
    Bytes bridged = eth(kVmB, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.1.11", 17, udp(1000, 2000, Bytes(18, 0)));
    auto outer = [&](const Bytes& l4) { return eth(kFab, kFabPeer, 0x0800) + ipv4("192.0.2.2", "192.0.2.1", 17, l4); };
    Bytes from_pair = eth(kVmC, kVmA, 0x0800) + ipv4("10.1.2.77", "10.1.1.12", 17, udp(1000, 2000, Bytes(18, 0)));
    double encap = measure(dp, dp.workload_prog_fd(), inner, repeat, VR_CNT_ENCAP_MPLSUDP, "encap");
    double pair = measure(dp, dp.workload_prog_fd(), from_pair, repeat, VR_CNT_ENCAP_MPLSUDP, "encap from a pair");
    double vx = measure(dp, dp.fabric_prog_fd(), outer(udp(50000, 4789, vxlan(kVni, bridged))), repeat,
                        VR_CNT_DECAP_VXLAN, "decap VXLAN");
    double mp = measure(dp, dp.fabric_prog_fd(), outer(udp(50000, 6635, mpls(kLabel, bridged))), repeat,
                        VR_CNT_DECAP_MPLSUDP, "decap MPLSoUDP");
    std::printf("%-10u %14zu %14.1f %18.1f %18.1f %16.1f\n", n, guard.addrs + guard.pairs, encap, pair, vx, mp);
  }
  return 0;
}
