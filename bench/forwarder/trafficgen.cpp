// vr-trafficgen: sends COUNT 64-byte UDP frames out of an interface inside a network namespace
// at the rate the path beyond it accepts, using BPF_PROG_TEST_RUN live frames and an XDP_TX
// program (no socket, skb or userspace copy per packet).
//   vr-trafficgen NETNS IFNAME DST_MAC SRC_MAC SRC_IP DST_IP COUNT [new-flows|same-flow]
//                 [sink NETNS IFNAME] [pass NETNS IFNAME]
// new-flows: every packet carries another UDP port pair, so each is the first of a new flow.
// same-flow: every packet is the same flow (UDP port 1023 to 10000). Both rewrite each
// frame's headers from the template before sending it (live frames come back as the path
// left them); without either, the frame goes out again as the path left it (fine for paths
// that do not rewrite it in place).
// sink: replaces whatever XDP program is on IFNAME in that namespace with a count-and-drop
// program (IPv4 UDP frames counted) for the duration of the run, waits until the frames in
// flight have arrived, and also prints how many arrived and the seconds from the start of
// sending to the last arrival.
// pass: the same with an XDP_PASS program, for a veth end that must take XDP frames.
// Both are BPF links: they are gone when this process exits.
// Prints: SENT SECONDS [DELIVERED SECONDS_TO_LAST_DELIVERY]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "vr_bench_gen.skel.h"

namespace {

std::vector<uint8_t> frame(const char* dmac, const char* smac, const char* sip, const char* dip) {
  std::vector<uint8_t> f(60, 0);
  unsigned m[12];
  std::sscanf(dmac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
  std::sscanf(smac, "%x:%x:%x:%x:%x:%x", &m[6], &m[7], &m[8], &m[9], &m[10], &m[11]);
  for (int i = 0; i < 12; ++i) f[i] = static_cast<uint8_t>(m[i]);
  f[12] = 0x08;
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  ip[3] = 46;  // total length: 20 + 8 + 18
  ip[8] = 64;
  ip[9] = 17;
  inet_pton(AF_INET, sip, ip + 12);
  inet_pton(AF_INET, dip, ip + 16);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8);
  ip[11] = static_cast<uint8_t>(~sum);
  uint8_t* udp = ip + 20;
  udp[0] = 0x03, udp[1] = 0xff;  // 1023: new-flows uses 1024 and up
  udp[2] = 0x27, udp[3] = 0x10;  // 10000
  udp[5] = 26;
  return f;
}

int enter(const char* ns) {
  int fd = open((std::string("/run/netns/") + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "cannot enter namespace %s\n", ns);
    return -1;
  }
  close(fd);
  return 0;
}

// Replaces whatever XDP program IFNAME in namespace NS has with prog, as a link.
bpf_link* attach(bpf_program* prog, const char* ns, const char* ifname) {
  if (enter(ns) != 0) return nullptr;
  int ifindex = static_cast<int>(if_nametoindex(ifname));
  if (!ifindex) {
    std::fprintf(stderr, "no interface %s in %s\n", ifname, ns);
    return nullptr;
  }
  // A link cannot replace a program attached the older way (netlink): remove that first.
  bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
  bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, nullptr);
  bpf_link* link = bpf_program__attach_xdp(prog, ifindex);
  if (!link) std::fprintf(stderr, "cannot attach XDP to %s in %s: %s\n", ifname, ns, std::strerror(errno));
  return link;
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // the clock of bpf_ktime_get_ns
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// Frames the sink counted (all CPUs) and the latest arrival time.
bool sink_read(const vr_bench_gen* skel, uint64_t& packets, uint64_t& last_ns) {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> v(2 * static_cast<size_t>(ncpu));  // struct vr_sink_stats per CPU
  uint32_t zero = 0;
  if (ncpu <= 0 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.vr_sink), &zero, v.data()) != 0) return false;
  packets = last_ns = 0;
  for (int c = 0; c < ncpu; ++c) {
    packets += v[2 * c];
    last_ns = std::max(last_ns, v[2 * c + 1]);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t mode = 0;  // the mode enum of vr_bench_gen.bpf.c: plain, same flow, new flows
  const char* sink_ns = nullptr;
  const char* sink_if = nullptr;
  const char* pass_ns = nullptr;
  const char* pass_if = nullptr;
  bool ok = argc >= 8;
  for (int i = 8; ok && i < argc; ++i) {
    std::string a = argv[i];
    if (a == "new-flows") {
      mode = 2;
    } else if (a == "same-flow") {
      mode = 1;
    } else if (a == "sink" && i + 2 < argc) {
      sink_ns = argv[++i];
      sink_if = argv[++i];
    } else if (a == "pass" && i + 2 < argc) {
      pass_ns = argv[++i];
      pass_if = argv[++i];
    } else {
      ok = false;
    }
  }
  if (!ok) {
    std::fprintf(stderr,
                 "usage: vr-trafficgen NETNS IFNAME DST_MAC SRC_MAC SRC_IP DST_IP COUNT [new-flows|same-flow] "
                 "[sink NETNS IFNAME] [pass NETNS IFNAME]\n");
    return 2;
  }
  auto f = frame(argv[3], argv[4], argv[5], argv[6]);
  auto* skel = vr_bench_gen__open();
  if (skel) {
    skel->rodata->mode = mode;
    static_assert(sizeof skel->bss->template_hdr <= 60);
    std::memcpy(skel->bss->template_hdr, f.data(), sizeof skel->bss->template_hdr);
  }
  if (!skel || vr_bench_gen__load(skel)) {
    std::fprintf(stderr, "cannot load the generator program\n");
    return 1;
  }
  bpf_link* sink = nullptr;
  bpf_link* pass = nullptr;
  if (sink_ns && !(sink = attach(skel->progs.vr_sink_drop, sink_ns, sink_if))) return 1;
  if (pass_ns && !(pass = attach(skel->progs.vr_pass, pass_ns, pass_if))) return 1;
  if (enter(argv[1]) != 0) return 1;
  unsigned ifindex = if_nametoindex(argv[2]);
  if (!ifindex) {
    std::fprintf(stderr, "no interface %s\n", argv[2]);
    return 1;
  }
  long total = std::atol(argv[7]);
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(f.size());
  ctx.ingress_ifindex = ifindex;
  uint64_t t0_ns = monotonic_ns();
  auto t0 = std::chrono::steady_clock::now();
  long sent = 0;
  while (sent < total) {
    int chunk = static_cast<int>(std::min<long>(total - sent, 1'000'000));
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_size_in = static_cast<uint32_t>(f.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = chunk,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.vr_gen_tx), &opts) != 0) {
      std::fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", std::strerror(errno));
      return 1;
    }
    sent += chunk;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!sink) {
    std::printf("%ld %.6f\n", sent, secs);
  } else {
    // Frames still queued on the way arrive within milliseconds: wait until the count holds.
    uint64_t packets = 0, last_ns = 0, prev = ~0ull;
    for (int still = 0; still < 5;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!sink_read(skel, packets, last_ns)) {
        std::fprintf(stderr, "cannot read the sink's counters\n");
        return 1;
      }
      still = packets == prev ? still + 1 : 0;
      prev = packets;
    }
    double to_last = last_ns > t0_ns ? static_cast<double>(last_ns - t0_ns) / 1e9 : 0.0;
    std::printf("%ld %.6f %lu %.6f\n", sent, secs, static_cast<unsigned long>(packets), to_last);
  }
  bpf_link__destroy(sink);
  bpf_link__destroy(pass);
  vr_bench_gen__destroy(skel);
  return 0;
}
