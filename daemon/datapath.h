#pragma once
// The forwarder as a C++ object: loads the BPF skeleton, attaches its programs and reads and
// writes its maps. It knows nothing of names or desired state; AgentState does that.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <netinet/in.h>

extern "C" {
#include "vr_abi.h"
}

struct vr_forwarder;  // the generated skeleton

namespace vrfabric {

using Mac = std::array<uint8_t, VR_ETH_ALEN>;

struct DatapathError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An IPv4 or IPv6 prefix in a VRF, parsed from "a.b.c.d/len" or "x::y/len".
struct Prefix {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};
  uint8_t len = 0;
  bool is_host() const { return len == (family == AF_INET ? 32 : 128); }
  std::string str() const;
  static Prefix parse(const std::string& text);  // throws std::invalid_argument
  bool operator<(const Prefix& o) const;
  bool operator==(const Prefix& o) const = default;
};

Mac parse_mac(const std::string& text);  // throws std::invalid_argument
std::string mac_str(const Mac& mac);

struct FibEntry {
  uint32_t vrf;
  Prefix prefix;
  vr_fwd fwd;
};

class Datapath {
 public:
  Datapath();  // loads and verifies the programs
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  void set_config(const vr_config& cfg);
  // XDP attach in native mode; skb mode as a fallback for drivers without it.
  void attach_workload(int ifindex);
  void attach_fabric(int ifindex);
  void detach(int ifindex);
  int peer_pass_fd() const;  // for the workload end of a veth, attached in its namespace
  int workload_prog_fd() const;
  int fabric_prog_fd() const;
  int mirror_map_fd() const;  // perf buffer of mirrored packets (struct vr_mirror_meta + frame)

  void set_iface(uint32_t ifindex, const vr_iface& ifc);
  void del_iface(uint32_t ifindex);
  void set_nexthop(uint32_t id, const vr_nexthop& nh);
  void del_nexthop(uint32_t id);
  void set_route(uint32_t vrf, const Prefix& p, const vr_fwd& fwd);
  void del_route(uint32_t vrf, const Prefix& p);
  void set_l2(uint32_t vrf, const Mac& mac, const vr_fwd& fwd);
  void del_l2(uint32_t vrf, const Mac& mac);
  void set_label(uint32_t label, uint32_t nh_id);
  void del_label(uint32_t label);
  void set_vni(uint32_t vni, uint32_t vrf);
  void del_vni(uint32_t vni);

  // Policy tables (compiled by the policy compiler) and the flow table.
  void set_epg(uint32_t vrf, const Prefix& p, uint32_t epg);
  void del_epg(uint32_t vrf, const Prefix& p);
  void set_rule(const vr_rule_key& key, const vr_rule& rule);
  void del_rule(const vr_rule_key& key);
  std::vector<std::pair<vr_flow_key, vr_flow>> flows() const;

  // Source guard: a port's own host addresses, and its allowed address pairs (a prefix and
  // the MAC it sends from; all zero = the port's own).
  void set_guard_addr(uint32_t ifindex, const Prefix& host);
  void del_guard_addr(uint32_t ifindex, const Prefix& host);
  void set_guard_pair(uint32_t ifindex, const Prefix& p, const Mac& mac);
  void del_guard_pair(uint32_t ifindex, const Prefix& p);
  struct GuardCounts {
    size_t addrs = 0, pairs = 0;
  };
  GuardCounts guard_counts() const;  // entries the kernel holds (for leak checks)
  void del_flow(const vr_flow_key& key);

  // Reads back what the kernel holds (the source of truth for `vrctl agent show`).
  std::vector<FibEntry> routes() const;
  std::array<uint64_t, VR_CNT_MAX> counters() const;  // summed over CPUs
  static const char* counter_name(int idx);

 private:
  vr_forwarder* skel_ = nullptr;
  std::map<int, uint32_t> attached_;  // ifindex -> XDP flags used
  void attach(int ifindex, int prog_fd);
};

}  // namespace vrfabric
