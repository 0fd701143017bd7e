#include "dhcp_server.h"
#include "inet_checksum.h"
#include "ra_codec.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace vrfabric {

namespace {

constexpr uint16_t kServerPort = 67, kClientPort = 68;

// IPv4, UDP, not a fragment, destination port 67.
sock_filter kFilter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 7),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 5),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 3, 0),
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kServerPort, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
};

// IPv6 with UDP to port 547 (DHCPv6 server), or ICMPv6 router solicitation (type 133).
sock_filter kFilter6[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 8),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 2),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 56),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 547, 3, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMPV6, 0, 3),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 133, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

int filtered_socket(uint16_t ethertype, sock_filter* filter, size_t n) {
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ethertype));
  if (s < 0) throw std::runtime_error(std::string("DHCP packet socket: ") + strerror(errno));
  sock_fprog prog{static_cast<unsigned short>(n), filter};
  if (setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
    throw std::runtime_error(std::string("DHCP socket filter: ") + strerror(errno));
  return s;
}

}  // namespace

std::vector<uint8_t> dhcp6_reply_frame(const Mac& server_mac, const Mac& client_mac, const uint8_t* client_ip,
                                       const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(14 + 40 + 8);
  std::memcpy(f.data(), client_mac.data(), 6);
  std::memcpy(f.data() + 6, server_mac.data(), 6);
  f[12] = 0x86, f[13] = 0xdd;
  uint8_t* ip = f.data() + 14;
  uint16_t ulen = static_cast<uint16_t>(8 + payload.size());
  ip[0] = 0x60;
  ip[4] = static_cast<uint8_t>(ulen >> 8), ip[5] = static_cast<uint8_t>(ulen);
  ip[6] = IPPROTO_UDP;
  ip[7] = 64;
  auto ll = ra::link_local(server_mac);  // the gateway's link-local address
  std::memcpy(ip + 8, ll.data(), 16);
  std::memcpy(ip + 24, client_ip, 16);
  uint8_t* udp = ip + 40;
  udp[0] = 0x02, udp[1] = 0x23, udp[2] = 0x02, udp[3] = 0x22;  // 547 -> 546
  udp[4] = static_cast<uint8_t>(ulen >> 8), udp[5] = static_cast<uint8_t>(ulen);
  f.insert(f.end(), payload.begin(), payload.end());
  ip = f.data() + 14;
  udp = ip + 40;
  uint32_t sum = sum16(ip + 8, 32) + ulen + IPPROTO_UDP;
  uint16_t c = fold(sum16(udp, ulen, sum));
  if (c == 0) c = 0xffff;
  udp[6] = static_cast<uint8_t>(c >> 8), udp[7] = static_cast<uint8_t>(c);
  return f;
}

std::vector<uint8_t> dhcp_reply_frame(const Mac& server_mac, const dhcp::Message& reply) {
  std::vector<uint8_t> payload = dhcp::encode(reply);
  bool broadcast = (reply.flags & 0x8000) || reply.type == dhcp::kNak || reply.yiaddr == 0;
  uint32_t dst_ip = broadcast ? INADDR_BROADCAST : reply.yiaddr;
  uint32_t src_ip = reply.server_id.value_or(0);
  std::vector<uint8_t> f(14 + 20 + 8);
  if (broadcast)
    std::memset(f.data(), 0xff, 6);
  else
    std::memcpy(f.data(), reply.chaddr.data(), 6);
  std::memcpy(f.data() + 6, server_mac.data(), 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  uint16_t total = static_cast<uint16_t>(20 + 8 + payload.size());
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  std::memcpy(ip + 12, &src_ip, 4);
  std::memcpy(ip + 16, &dst_ip, 4);
  uint16_t c = fold(sum16(ip, 20));
  ip[10] = static_cast<uint8_t>(c >> 8);
  ip[11] = static_cast<uint8_t>(c);
  uint8_t* udp = ip + 20;
  uint16_t ulen = static_cast<uint16_t>(8 + payload.size());
  udp[0] = 0, udp[1] = kServerPort, udp[2] = 0, udp[3] = kClientPort;
  udp[4] = static_cast<uint8_t>(ulen >> 8);
  udp[5] = static_cast<uint8_t>(ulen);
  f.insert(f.end(), payload.begin(), payload.end());
  udp = f.data() + 34;
  // UDP checksum over the pseudo-header, header and payload.
  uint32_t sum = sum16(ip + 12, 8) + IPPROTO_UDP + ulen;
  uint16_t uc = fold(sum16(udp, ulen, sum));
  if (uc == 0) uc = 0xffff;
  udp[6] = static_cast<uint8_t>(uc >> 8);
  udp[7] = static_cast<uint8_t>(uc);
  return f;
}

DhcpServer::DhcpServer(const Mac& router_mac) : router_mac_(router_mac) {
  sock_ = filtered_socket(ETH_P_IP, kFilter, std::size(kFilter));
  sock6_ = filtered_socket(ETH_P_IPV6, kFilter6, std::size(kFilter6));
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

DhcpServer::~DhcpServer() {
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
  close(sock_);
  close(sock6_);
  close(stop_fd_);
}

void DhcpServer::add(int ifindex, const Mac& client, std::optional<dhcp::Lease> v4, std::optional<dhcp6::Lease> v6) {
  bool has_v6 = v6.has_value();
  {
    std::lock_guard lk(mu_);
    bindings_[ifindex] = Binding{client, std::move(v4), std::move(v6)};
  }
  if (has_v6) advertise(ifindex);
}

void DhcpServer::advertise(int ifindex) {
  send(sock6_, ifindex,
       ra::advertisement(router_mac_, Mac{0x33, 0x33, 0, 0, 0, 1}, {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

void DhcpServer::remove(int ifindex) {
  std::lock_guard lk(mu_);
  bindings_.erase(ifindex);
}

void DhcpServer::run() {
  uint8_t buf[2048];
  constexpr int kAdvertiseMs = 60'000;  // well within the advertised router lifetime
  for (;;) {
    pollfd fds[3] = {{sock_, POLLIN, 0}, {sock6_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int ready = poll(fds, 3, kAdvertiseMs);
    if (ready < 0) continue;
    if (fds[2].revents) return;
    if (ready == 0) {
      std::vector<int> v6;
      {
        std::lock_guard lk(mu_);
        for (auto& [ifindex, b] : bindings_)
          if (b.v6) v6.push_back(ifindex);
      }
      for (int ifindex : v6) advertise(ifindex);
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      sockaddr_ll from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
      if (i == 0)
        handle(from.sll_ifindex, buf, static_cast<size_t>(n));
      else
        handle6(from.sll_ifindex, buf, static_cast<size_t>(n));
    }
  }
}

void DhcpServer::handle(int ifindex, const uint8_t* frame, size_t len) {
  Binding b;
  {
    std::lock_guard lk(mu_);
    auto it = bindings_.find(ifindex);
    if (it == bindings_.end()) return;  // not a workload interface we serve
    b = it->second;
  }
  size_t ihl = static_cast<size_t>(frame[14] & 0xf) * 4;
  if (len < 14 + ihl + 8) return;
  std::string why;
  auto msg = dhcp::decode(frame + 14 + ihl + 8, len - 14 - ihl - 8, &why);
  if (!msg) {
    spdlog::warn("dhcp: ignoring a malformed message on ifindex {}: {}", ifindex, why);
    return;
  }
  if (Mac(msg->chaddr) != b.client) {
    spdlog::warn("dhcp: ifindex {} asked for {} which is not its workload", ifindex, mac_str(Mac(msg->chaddr)));
    return;
  }
  if (!b.v4) return;
  auto reply = dhcp::answer(*msg, *b.v4);
  if (reply) send(sock_, ifindex, dhcp_reply_frame(router_mac_, *reply));
}

void DhcpServer::handle6(int ifindex, const uint8_t* frame, size_t len) {
  Binding b;
  {
    std::lock_guard lk(mu_);
    auto it = bindings_.find(ifindex);
    if (it == bindings_.end() || !it->second.v6) return;
    b = it->second;
  }
  if (len < 14 + 40 + 8 || std::memcmp(frame + 6, b.client.data(), 6) != 0) return;  // only its own workload
  if (ra::is_router_solicitation(frame, len)) {
    Mac mac;
    std::array<uint8_t, 16> ip;
    ra::reply_destination(frame, mac, ip);
    send(sock6_, ifindex, ra::advertisement(router_mac_, mac, ip));
    return;
  }
  if (frame[20] != IPPROTO_UDP) return;
  std::string why;
  dhcp6::Lease lease = *b.v6;
  std::copy(router_mac_.begin(), router_mac_.end(), lease.server_mac.begin());
  auto reply = dhcp6::answer(frame + 62, len - 62, lease, &why);
  if (!reply) {
    spdlog::debug("dhcpv6: no answer on ifindex {}: {}", ifindex, why);
    return;
  }
  send(sock6_, ifindex, dhcp6_reply_frame(router_mac_, b.client, frame + 22, *reply));
}

void DhcpServer::send(int sock, int ifindex, const std::vector<uint8_t>& out) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, out.data(), 6);
  if (sendto(sock, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    spdlog::warn("dhcp: sending on ifindex {}: {}", ifindex, strerror(errno));
  else
    answered_++;
}

}  // namespace vrfabric
