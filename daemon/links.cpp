#include "links.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <sched.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <stdexcept>
#include <thread>

namespace vrfabric::links {

namespace {

struct NlSocket {
  nl_sock* sk = nl_socket_alloc();
  NlSocket() {
    if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0) throw std::runtime_error("cannot open a netlink socket");
  }
  ~NlSocket() { nl_socket_free(sk); }
};

template <typename T, void (*Free)(T*)>
struct NlPtr {
  T* p = nullptr;
  ~NlPtr() {
    if (p) Free(p);
  }
};
void put_link(rtnl_link* l) { rtnl_link_put(l); }
void put_cache(nl_cache* c) { nl_cache_free(c); }
void put_addr(nl_addr* a) { nl_addr_put(a); }

void nl_check(int rc, const std::string& what) {
  if (rc < 0) throw std::runtime_error(fmt::format("{}: {}", what, nl_geterror(rc)));
}

Mac mac_of(rtnl_link* link) {
  Mac m{};
  nl_addr* a = rtnl_link_get_addr(link);
  if (a && nl_addr_get_len(a) == m.size()) std::memcpy(m.data(), nl_addr_get_binary_addr(a), m.size());
  return m;
}

uint32_t first_ipv4(nl_sock* sk, int ifindex) {
  NlPtr<nl_cache, put_cache> cache;
  nl_check(rtnl_addr_alloc_cache(sk, &cache.p), "reading addresses");
  for (nl_object* o = nl_cache_get_first(cache.p); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET) continue;
    uint32_t v;
    std::memcpy(&v, nl_addr_get_binary_addr(rtnl_addr_get_local(a)), 4);
    return v;
  }
  return 0;
}

// Runs fn with the calling thread moved into a named network namespace.
void in_netns(const std::string& netns, const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      int fd = open(fmt::format("/run/netns/{}", netns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error(fmt::format("network namespace '{}' does not exist", netns));
      int rc = setns(fd, CLONE_NEWNET);
      close(fd);
      if (rc < 0) throw std::runtime_error(fmt::format("entering namespace '{}': {}", netns, strerror(errno)));
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

void set_up(nl_sock* sk, const std::string& name) {
  NlPtr<rtnl_link, put_link> link, change;
  nl_check(rtnl_link_get_kernel(sk, 0, name.c_str(), &link.p), fmt::format("finding link {}", name));
  change.p = rtnl_link_alloc();
  rtnl_link_set_flags(change.p, IFF_UP);
  nl_check(rtnl_link_change(sk, link.p, change.p, 0), fmt::format("bringing {} up", name));
}

// XDP sees a frame before the kernel completes an offloaded checksum, so a frame the
// workload leaves to offload would cross the fabric with a partial checksum: turn it off.
void disable_tx_checksum_offload(const std::string& name) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw std::runtime_error("socket for ethtool: " + std::string(strerror(errno)));
  ethtool_value ev{ETHTOOL_STXCSUM, 0};
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(&ev);
  int rc = ioctl(s, SIOCETHTOOL, &ifr);
  close(s);
  if (rc < 0) throw std::runtime_error(fmt::format("turning off TX checksum offload on {}: {}", name, strerror(errno)));
}

}  // namespace

LinkInfo get(const std::string& name) {
  NlSocket nl;
  NlPtr<rtnl_link, put_link> link;
  int rc = rtnl_link_get_kernel(nl.sk, 0, name.c_str(), &link.p);
  if (rc < 0) throw std::runtime_error(fmt::format("no interface named '{}'", name));
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(link.p);
  info.mac = mac_of(link.p);
  info.mtu = static_cast<int>(rtnl_link_get_mtu(link.p));
  info.ipv4 = first_ipv4(nl.sk, info.ifindex);
  return info;
}

int create_workload_veth(const VethSpec& spec) {
  if (spec.host_name.empty() || spec.host_name.size() >= IFNAMSIZ || spec.peer_name.empty() ||
      spec.peer_name.size() >= IFNAMSIZ)
    throw std::invalid_argument(fmt::format("interface names must have 1 to {} characters", IFNAMSIZ - 1));
  int nsfd = open(fmt::format("/run/netns/{}", spec.netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) throw std::invalid_argument(fmt::format("network namespace '{}' does not exist", spec.netns));

  NlSocket nl;
  if (int existing = static_cast<int>(if_nametoindex(spec.host_name.c_str()))) {
    close(nsfd);
    in_netns(spec.netns, [&] {
      int ifindex = static_cast<int>(if_nametoindex(spec.peer_name.c_str()));
      if (!ifindex) throw std::runtime_error(fmt::format("{} exists but {} is not in {}", spec.host_name, spec.peer_name, spec.netns));
      if (spec.peer_xdp_fd >= 0) bpf_xdp_attach(ifindex, spec.peer_xdp_fd, XDP_FLAGS_DRV_MODE, nullptr);
    });
    return existing;
  }
  NlPtr<rtnl_link, put_link> veth;
  NlPtr<nl_addr, put_addr> mac;
  veth.p = rtnl_link_veth_alloc();
  rtnl_link* peer = rtnl_link_veth_get_peer(veth.p);
  rtnl_link_set_name(veth.p, spec.host_name.c_str());
  rtnl_link_set_mtu(veth.p, spec.mtu);
  rtnl_link_set_name(peer, spec.peer_name.c_str());
  rtnl_link_set_mtu(peer, spec.mtu);
  mac.p = nl_addr_build(AF_LLC, spec.peer_mac.data(), spec.peer_mac.size());
  rtnl_link_set_addr(peer, mac.p);
  rtnl_link_set_ns_fd(peer, nsfd);
  int rc = rtnl_link_add(nl.sk, veth.p, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);
  close(nsfd);
  nl_check(rc, fmt::format("creating veth {}", spec.host_name));

  try {
    in_netns(spec.netns, [&] {
      NlSocket inner;
      disable_tx_checksum_offload(spec.peer_name);
      set_up(inner.sk, spec.peer_name);
      int ifindex = static_cast<int>(if_nametoindex(spec.peer_name.c_str()));
      if (spec.peer_xdp_fd >= 0 && bpf_xdp_attach(ifindex, spec.peer_xdp_fd, XDP_FLAGS_DRV_MODE, nullptr) < 0)
        throw std::runtime_error(fmt::format("attaching XDP to {} in {}", spec.peer_name, spec.netns));
    });
    set_up(nl.sk, spec.host_name);
  } catch (...) {
    delete_link(spec.host_name);
    throw;
  }
  return static_cast<int>(if_nametoindex(spec.host_name.c_str()));
}

void delete_link(const std::string& name) {
  NlSocket nl;
  NlPtr<rtnl_link, put_link> link;
  if (rtnl_link_get_kernel(nl.sk, 0, name.c_str(), &link.p) < 0) return;
  rtnl_link_delete(nl.sk, link.p);
}

std::optional<Mac> resolve_neighbor(int ifindex, uint32_t ipv4, int timeout_ms) {
  NlSocket nl;
  NlPtr<nl_addr, put_addr> dst;
  dst.p = nl_addr_build(AF_INET, &ipv4, 4);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool poked = false;
  for (;;) {
    NlPtr<nl_cache, put_cache> cache;
    nl_check(rtnl_neigh_alloc_cache(nl.sk, &cache.p), "reading the neighbour table");
    rtnl_neigh* n = rtnl_neigh_get(cache.p, ifindex, dst.p);
    if (n) {
      int state = rtnl_neigh_get_state(n);
      nl_addr* ll = rtnl_neigh_get_lladdr(n);
      bool usable = state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP);
      Mac m{};
      if (usable && ll && nl_addr_get_len(ll) == m.size()) {
        std::memcpy(m.data(), nl_addr_get_binary_addr(ll), m.size());
        rtnl_neigh_put(n);
        return m;
      }
      rtnl_neigh_put(n);
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    if (!poked) {
      // Any datagram makes the kernel resolve the neighbour; port 9 is "discard".
      int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(9);
      sa.sin_addr.s_addr = ipv4;
      if (s >= 0) {
        sendto(s, "", 0, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        close(s);
      }
      poked = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace vrfabric::links
