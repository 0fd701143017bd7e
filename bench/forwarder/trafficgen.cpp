// vr-trafficgen: sends N copies of a 64-byte UDP frame out of an interface inside a network
// namespace at the rate the path beyond it accepts, using BPF_PROG_TEST_RUN live frames and
// an XDP_TX program (no socket or userspace copy per packet). Prints packets and seconds.
//   vr-trafficgen NETNS IFNAME DST_MAC SRC_MAC SRC_IP DST_IP COUNT [new-flows]
// With new-flows every packet carries another UDP port pair, so each is a new flow, and the
// frames go out through a packet socket in batches (sendmmsg): a send returns only after the
// receiving side's softirq work for it ran on this CPU, so a path is measured at the rate it
// sustains, not at how much of a burst its queues absorb.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
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
  udp[0] = 0x30, udp[1] = 0x39;  // 12345
  udp[2] = 0x00, udp[3] = 0x09;  // discard
  udp[5] = 26;
  return f;
}

int send_new_flows(unsigned ifindex, std::vector<uint8_t> base, long total) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = 6;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    std::fprintf(stderr, "packet socket: %s\n", std::strerror(errno));
    return 1;
  }
  constexpr int kBatch = 64;
  std::vector<std::vector<uint8_t>> frames(kBatch, base);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  auto t0 = std::chrono::steady_clock::now();
  long sent = 0;
  uint32_t seq = 0;
  while (sent < total) {
    int n = static_cast<int>(std::min<long>(kBatch, total - sent));
    for (int i = 0; i < n; ++i, ++seq) {
      uint8_t* udp = frames[i].data() + 34;
      uint16_t sport = static_cast<uint16_t>(1024 + seq % 64000), dport = static_cast<uint16_t>(10000 + (seq / 64000) % 16);
      udp[0] = sport >> 8, udp[1] = sport & 0xff, udp[2] = dport >> 8, udp[3] = dport & 0xff;
      iov[i] = {frames[i].data(), frames[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &to;
      msgs[i].msg_hdr.msg_namelen = sizeof to;
    }
    int r = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN) continue;
      std::fprintf(stderr, "sendmmsg: %s\n", std::strerror(errno));
      return 1;
    }
    sent += r;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%ld %.6f\n", sent, secs);
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8 && !(argc == 9 && std::string(argv[8]) == "new-flows")) {
    std::fprintf(stderr, "usage: vr-trafficgen NETNS IFNAME DST_MAC SRC_MAC SRC_IP DST_IP COUNT [new-flows]\n");
    return 2;
  }
  int nsfd = open((std::string("/run/netns/") + argv[1]).c_str(), O_RDONLY);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "cannot enter namespace %s\n", argv[1]);
    return 1;
  }
  unsigned ifindex = if_nametoindex(argv[2]);
  if (!ifindex) {
    std::fprintf(stderr, "no interface %s\n", argv[2]);
    return 1;
  }
  if (argc == 9) return send_new_flows(ifindex, frame(argv[3], argv[4], argv[5], argv[6]), std::atol(argv[7]));
  auto* skel = vr_bench_gen__open();
  if (skel) skel->rodata->new_flows = argc == 9;
  if (!skel || vr_bench_gen__load(skel)) {
    std::fprintf(stderr, "cannot load the generator program\n");
    return 1;
  }
  auto f = frame(argv[3], argv[4], argv[5], argv[6]);
  long total = std::atol(argv[7]);
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(f.size());
  ctx.ingress_ifindex = ifindex;
  auto t0 = std::chrono::steady_clock::now();
  long sent = 0;
  while (sent < total) {
    int chunk = static_cast<int>(std::min<long>(total - sent, 1'000'000));
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_size_in = static_cast<uint32_t>(f.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = chunk, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.vr_gen_tx), &opts) != 0) {
      std::fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", std::strerror(errno));
      return 1;
    }
    sent += chunk;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%ld %.6f\n", sent, secs);
  vr_bench_gen__destroy(skel);
  return 0;
}
