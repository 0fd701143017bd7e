#include "datapath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <tuple>
#include <fmt/format.h>

#include "vr_forwarder.skel.h"

namespace vrfabric {

namespace {

void check(int rc, const std::string& what) {
  if (rc < 0) {
    int err = rc == -1 ? errno : -rc;
    throw DatapathError(fmt::format("{}: {}", what, std::strerror(err)));
  }
}

template <typename K, typename V>
void update(bpf_map* map, const K& key, const V& val, const char* what) {
  check(bpf_map_update_elem(bpf_map__fd(map), &key, &val, BPF_ANY), what);
}

// Deleting what is already gone is not an error: removal is idempotent.
template <typename K>
void erase(bpf_map* map, const K& key, const char* what) {
  int rc = bpf_map_delete_elem(bpf_map__fd(map), &key);
  if (rc < 0 && errno != ENOENT) check(rc, what);
}

// Every key of a map, in the kernel's order (a snapshot: entries written meanwhile may be missed).
template <typename Key, typename Fn>
void for_each_key(bpf_map* map, Fn&& fn) {
  int fd = bpf_map__fd(map);
  Key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    fn(next);
    key = next;
    prev = &key;
  }
}

// The family and address of an exact-match key (IPv4 in the first 4 of 16 bytes).
template <typename Key>
void put_address(Key& k, const Prefix& p) {
  k.family = p.family == AF_INET ? 4 : 6;
  std::memcpy(k.addr, p.addr.data(), p.family == AF_INET ? 4 : 16);
}

vr_fib4_key fib4_key(uint32_t vrf, const Prefix& p) {
  vr_fib4_key k{};
  k.prefixlen = 32 + p.len;
  k.vrf = vrf;
  std::memcpy(&k.addr, p.addr.data(), 4);
  return k;
}

vr_fib6_key fib6_key(uint32_t vrf, const Prefix& p) {
  vr_fib6_key k{};
  k.prefixlen = 32 + p.len;
  k.vrf = vrf;
  std::memcpy(k.addr, p.addr.data(), 16);
  return k;
}

vr_l2_key l2_key(uint32_t vrf, const Mac& mac) {
  vr_l2_key k{};
  k.vrf = vrf;
  std::memcpy(k.mac, mac.data(), mac.size());
  return k;
}

}  // namespace

std::string Prefix::str() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, addr.data(), buf, sizeof buf);
  return fmt::format("{}/{}", buf, len);
}

Prefix Prefix::parse(const std::string& text) {
  Prefix p;
  auto slash = text.find('/');
  std::string host = text.substr(0, slash);
  p.family = host.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(p.family, host.c_str(), p.addr.data()) != 1)
    throw std::invalid_argument(fmt::format("'{}' is not an IPv4 or IPv6 address", host));
  int max = p.family == AF_INET ? 32 : 128;
  int len = max;
  if (slash != std::string::npos) {
    std::string l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3 || l.find_first_not_of("0123456789") != std::string::npos ||
        (len = std::stoi(l)) > max)
      throw std::invalid_argument(fmt::format("'{}' has an invalid prefix length", text));
  }
  p.len = static_cast<uint8_t>(len);
  // Clear host bits so that "10.1.1.7/24" and "10.1.1.0/24" name the same route.
  for (int bit = len; bit < max; ++bit) p.addr[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return p;
}

bool Prefix::operator<(const Prefix& o) const {
  return std::tie(family, addr, len) < std::tie(o.family, o.addr, o.len);
}

Mac parse_mac(const std::string& text) {
  Mac m{};
  unsigned v[6];
  char extra;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &extra) != 6)
    throw std::invalid_argument(fmt::format("'{}' is not a MAC address (aa:bb:cc:dd:ee:ff)", text));
  for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

std::string mac_str(const Mac& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

Datapath::Datapath() {
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  skel_ = vr_forwarder__open_and_load();
  if (!skel_) throw DatapathError(fmt::format("loading the BPF forwarder: {}", std::strerror(errno)));
}

Datapath::~Datapath() {
  for (auto& [ifindex, flags] : attached_) bpf_xdp_detach(ifindex, flags, nullptr);
  vr_forwarder__destroy(skel_);
}

int Datapath::peer_pass_fd() const { return bpf_program__fd(skel_->progs.vr_peer_pass); }
int Datapath::workload_prog_fd() const { return bpf_program__fd(skel_->progs.vr_workload_in); }
int Datapath::fabric_prog_fd() const { return bpf_program__fd(skel_->progs.vr_fabric_in); }
int Datapath::mirror_map_fd() const { return bpf_map__fd(skel_->maps.vr_mirror); }

void Datapath::attach(int ifindex, int prog_fd) {
  uint32_t flags = XDP_FLAGS_DRV_MODE;
  int rc = bpf_xdp_attach(ifindex, prog_fd, flags, nullptr);
  if (rc < 0) {
    flags = XDP_FLAGS_SKB_MODE;
    rc = bpf_xdp_attach(ifindex, prog_fd, flags, nullptr);
  }
  check(rc, fmt::format("attaching XDP to ifindex {}", ifindex));
  attached_[ifindex] = flags;
}

void Datapath::attach_workload(int ifindex) { attach(ifindex, workload_prog_fd()); }
void Datapath::attach_fabric(int ifindex) { attach(ifindex, fabric_prog_fd()); }

void Datapath::detach(int ifindex) {
  auto it = attached_.find(ifindex);
  if (it == attached_.end()) return;
  bpf_xdp_detach(ifindex, it->second, nullptr);
  attached_.erase(it);
}

void Datapath::set_config(const vr_config& cfg) {
  uint32_t zero = 0;
  update(skel_->maps.vr_cfg, zero, cfg, "writing the forwarder config");
}

void Datapath::set_iface(uint32_t ifindex, const vr_iface& ifc) {
  update(skel_->maps.vr_ifaces, ifindex, ifc, "writing the interface table");
}
void Datapath::del_iface(uint32_t ifindex) { erase(skel_->maps.vr_ifaces, ifindex, "deleting an interface"); }

void Datapath::set_nexthop(uint32_t id, const vr_nexthop& nh) {
  if (id >= VR_MAX_NEXTHOPS) throw DatapathError(fmt::format("next-hop id {} out of range", id));
  update(skel_->maps.vr_nexthops, id, nh, "writing the next-hop table");
}
void Datapath::del_nexthop(uint32_t id) {
  vr_nexthop none{};  // an array map entry cannot be deleted, only invalidated
  update(skel_->maps.vr_nexthops, id, none, "clearing a next hop");
}

void Datapath::set_route(uint32_t vrf, const Prefix& p, const vr_fwd& fwd) {
  if (p.family == AF_INET)
    update(skel_->maps.vr_fib4, fib4_key(vrf, p), fwd, "writing the IPv4 FIB");
  else
    update(skel_->maps.vr_fib6, fib6_key(vrf, p), fwd, "writing the IPv6 FIB");
}
void Datapath::del_route(uint32_t vrf, const Prefix& p) {
  if (p.family == AF_INET)
    erase(skel_->maps.vr_fib4, fib4_key(vrf, p), "deleting an IPv4 route");
  else
    erase(skel_->maps.vr_fib6, fib6_key(vrf, p), "deleting an IPv6 route");
}

void Datapath::set_l2(uint32_t vrf, const Mac& mac, const vr_fwd& fwd) {
  update(skel_->maps.vr_l2, l2_key(vrf, mac), fwd, "writing the L2 table");
}
void Datapath::del_l2(uint32_t vrf, const Mac& mac) { erase(skel_->maps.vr_l2, l2_key(vrf, mac), "deleting an L2 entry"); }

void Datapath::set_label(uint32_t label, uint32_t nh_id) {
  update(skel_->maps.vr_labels, label, nh_id, "writing the MPLS label table");
}
void Datapath::del_label(uint32_t label) { erase(skel_->maps.vr_labels, label, "deleting an MPLS label"); }

void Datapath::set_vni(uint32_t vni, uint32_t vrf) { update(skel_->maps.vr_vnis, vni, vrf, "writing the VNI table"); }
void Datapath::del_vni(uint32_t vni) { erase(skel_->maps.vr_vnis, vni, "deleting a VNI"); }

namespace {
vr_epg_host_key host_key(uint32_t vrf, const Prefix& p) {
  vr_epg_host_key k{};
  k.vrf = vrf;
  put_address(k, p);
  return k;
}
}  // namespace

void Datapath::set_epg(uint32_t vrf, const Prefix& p, uint32_t epg) {
  if (p.is_host()) {
    update(skel_->maps.vr_epg_hosts, host_key(vrf, p), epg, "writing the endpoint groups of addresses");
  } else if (p.family == AF_INET) {
    vr_epg4_key k{32u + p.len, vrf, 0};
    std::memcpy(&k.addr, p.addr.data(), 4);
    update(skel_->maps.vr_epg4, k, epg, "writing the IPv4 endpoint groups");
  } else {
    vr_epg6_key k{32u + p.len, vrf, {}};
    std::memcpy(k.addr, p.addr.data(), 16);
    update(skel_->maps.vr_epg6, k, epg, "writing the IPv6 endpoint groups");
  }
}

void Datapath::del_epg(uint32_t vrf, const Prefix& p) {
  if (p.is_host()) {
    erase(skel_->maps.vr_epg_hosts, host_key(vrf, p), "deleting an address's endpoint group");
  } else if (p.family == AF_INET) {
    vr_epg4_key k{32u + p.len, vrf, 0};
    std::memcpy(&k.addr, p.addr.data(), 4);
    erase(skel_->maps.vr_epg4, k, "deleting an IPv4 endpoint group");
  } else {
    vr_epg6_key k{32u + p.len, vrf, {}};
    std::memcpy(k.addr, p.addr.data(), 16);
    erase(skel_->maps.vr_epg6, k, "deleting an IPv6 endpoint group");
  }
}

void Datapath::set_rule(const vr_rule_key& key, const vr_rule& rule) {
  update(skel_->maps.vr_rules, key, rule, "writing the rule table");
}
void Datapath::del_rule(const vr_rule_key& key) { erase(skel_->maps.vr_rules, key, "deleting a rule"); }

std::vector<std::pair<vr_flow_key, vr_flow>> Datapath::flows() const {
  std::vector<std::pair<vr_flow_key, vr_flow>> out;
  int fd = bpf_map__fd(skel_->maps.vr_flows);
  for_each_key<vr_flow_key>(skel_->maps.vr_flows, [&](const vr_flow_key& k) {
    vr_flow f{};
    if (bpf_map_lookup_elem(fd, &k, &f) == 0) out.emplace_back(k, f);
  });
  return out;
}

void Datapath::del_flow(const vr_flow_key& key) { erase(skel_->maps.vr_flows, key, "deleting a flow"); }

namespace {
vr_guard_addr_key guard_addr_key(uint32_t ifindex, const Prefix& p) {
  vr_guard_addr_key k{};
  k.ifindex = ifindex;
  put_address(k, p);
  return k;
}

vr_guard_pair_key guard_pair_key(uint32_t ifindex, const Prefix& p) {
  return {64u + p.len, guard_addr_key(ifindex, p)};
}

template <typename Key>
size_t count_entries(bpf_map* map) {
  size_t n = 0;
  for_each_key<Key>(map, [&](const Key&) { ++n; });
  return n;
}
}  // namespace

void Datapath::set_guard_addr(uint32_t ifindex, const Prefix& host) {
  if (!host.is_host()) throw DatapathError(fmt::format("{}: a port's own address must be a host address", host.str()));
  uint8_t present = VR_GUARD_PRESENT;
  update(skel_->maps.vr_guard_addrs, guard_addr_key(ifindex, host), present, "writing the source guard's addresses");
}
void Datapath::del_guard_addr(uint32_t ifindex, const Prefix& host) {
  erase(skel_->maps.vr_guard_addrs, guard_addr_key(ifindex, host), "deleting a source guard address");
}
void Datapath::set_guard_pair(uint32_t ifindex, const Prefix& p, const Mac& mac) {
  vr_guard_pair v{};
  std::memcpy(v.mac, mac.data(), mac.size());
  update(skel_->maps.vr_guard_pairs, guard_pair_key(ifindex, p), v, "writing the allowed address pairs");
}
void Datapath::del_guard_pair(uint32_t ifindex, const Prefix& p) {
  erase(skel_->maps.vr_guard_pairs, guard_pair_key(ifindex, p), "deleting an allowed address pair");
}
Datapath::GuardCounts Datapath::guard_counts() const {
  return {count_entries<vr_guard_addr_key>(skel_->maps.vr_guard_addrs),
          count_entries<vr_guard_pair_key>(skel_->maps.vr_guard_pairs)};
}

std::vector<FibEntry> Datapath::routes() const {
  std::vector<FibEntry> out;
  auto walk = [&](bpf_map* map, auto key, int family) {
    int fd = bpf_map__fd(map);
    for_each_key<decltype(key)>(map, [&](const auto& k) {
      FibEntry e{};
      if (bpf_map_lookup_elem(fd, &k, &e.fwd) != 0) return;
      e.vrf = k.vrf;
      e.prefix.family = family;
      e.prefix.len = static_cast<uint8_t>(k.prefixlen - 32);
      std::memcpy(e.prefix.addr.data(), &k.addr, sizeof k.addr);
      out.push_back(e);
    });
  };
  walk(skel_->maps.vr_fib4, vr_fib4_key{}, AF_INET);
  walk(skel_->maps.vr_fib6, vr_fib6_key{}, AF_INET6);
  return out;
}

std::array<uint64_t, VR_CNT_MAX> Datapath::counters() const {
  std::array<uint64_t, VR_CNT_MAX> sum{};
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(ncpu > 0 ? ncpu : 1);
  int fd = bpf_map__fd(skel_->maps.vr_counters);
  for (uint32_t i = 0; i < VR_CNT_MAX; ++i) {
    if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0) continue;
    for (uint64_t v : per_cpu) sum[i] += v;
  }
  return sum;
}

const char* Datapath::counter_name(int idx) {
  static const char* names[] = {
      "rx_workload", "rx_fabric", "fwd_local", "encap_vxlan", "encap_mplsudp", "encap_mplsgre",
      "decap_vxlan", "decap_mplsudp", "decap_mplsgre", "routed", "arp_reply", "nd_reply",
      "gw_echo_reply", "punt", "fabric_pass", "drop_truncated", "drop_bad_ethertype",
      "drop_bad_ip", "drop_unknown_iface", "drop_no_route", "drop_no_l2", "drop_bad_nh",
      "drop_discard_nh", "drop_ttl", "drop_unknown_vni", "drop_unknown_label", "drop_bad_vxlan",
      "drop_bad_mpls", "drop_bad_gre", "drop_arp_unknown", "drop_flood", "drop_spoof",
      "drop_src_spoof", "drop_neigh_spoof", "drop_encap_fail", "drop_policy", "flow_new", "flow_hit",
      "flow_table_full", "mirrored", "mirror_failed"};
  static_assert(std::size(names) == VR_CNT_MAX, "one name per enum vr_counter entry");
  return idx >= 0 && idx < VR_CNT_MAX ? names[idx] : "?";
}

}  // namespace vrfabric
