#pragma once
// The agent's model of what its forwarder should hold: VRFs, workload interfaces, tunnels to
// other hosts, routes and L2 entries, by name. Every change is validated here, then written
// to the Datapath; the maps never hold an entry this model does not know.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "datapath.h"
#include "port_bindings.h"
#include "dhcp_codec.h"

namespace vrfabric {

// A request that cannot be carried out: the message goes back to the API client as is.
struct AgentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum : uint32_t { kNhDiscard = 1, kNhReceive = 2, kNhFirstDynamic = 3 };

struct AgentConfig {
  std::string fabric_ifname;
  uint32_t fabric_ip = 0;      // network order; 0 = take the interface's first IPv4
  Mac router_mac{0x00, 0x00, 0x5e, 0x00, 0x01, 0x00};  // the distributed gateway MAC
  vr_encap default_encap = VR_ENCAP_MPLSUDP;
  std::string bindings_file;   // where port bindings survive a restart ("" = memory only)
};

struct Vrf {
  std::string name;
  uint32_t id = 0;
  std::optional<uint32_t> vni;
  std::string route_target;    // "64512:100": what EVPN routes of this network carry
  vr_encap encap = VR_ENCAP_NONE;  // how remote hosts reach our workloads; NONE = agent default
  // Route targets of other networks whose workloads' host routes this VRF takes in (the
  // networks a policy connects to this one): routes only, never their L2 entries.
  std::set<std::string> imports;
};

// An extra prefix a port may send from (allowed address pair, as in the reference), with
// the MAC it sends from: all zero = the port's own.
struct AllowedPair {
  Prefix prefix;
  Mac mac{};
  bool operator==(const AllowedPair&) const = default;
};

struct InterfaceSpec {
  std::string name;            // host end, in the agent's namespace
  std::string vrf;
  Mac mac{};                   // the workload's MAC
  std::string netns;           // the workload's namespace
  std::string peer_name = "eth0";
  std::vector<Prefix> ips;     // host addresses the workload owns (for FIB and ARP/ND)
  std::optional<dhcp::Lease> dhcp;  // served to the workload; its address joins ips
  std::vector<AllowedPair> pairs;   // routed to the port too, and let through its source guard
};

struct Interface {
  InterfaceSpec spec;
  int ifindex = 0;
  uint32_t nh_id = 0;
  uint32_t label = 0;
};

// A workload on another host: what an EVPN type-2 MAC/IP route carries.
struct EndpointSpec {
  std::string vrf;
  Mac mac{};
  std::vector<Prefix> ips;
  uint32_t remote = 0;         // the other host's fabric IPv4, network order
  vr_encap encap = VR_ENCAP_NONE;
  uint32_t label = 0;          // MPLS label, or VNI (defaults to the VRF's) for VXLAN
  bool routes_only = false;    // of another network, imported: host routes but no L2 entry
};

struct Tunnel {
  uint32_t remote = 0;
  vr_encap encap = VR_ENCAP_NONE;
  uint32_t nh_id = 0;
  Mac dmac{};
  int refs = 0;
};

struct Route {
  vr_fwd fwd{};
  std::string owner;           // "interface X", "endpoint M", "static"
};

// What route.add accepts as a next hop.
struct NexthopSpec {
  enum Kind { Discard, Receive, Interface, Tunnel } kind = Discard;
  std::string interface;
  uint32_t remote = 0;
  vr_encap encap = VR_ENCAP_NONE;
  uint32_t label = 0;
  std::optional<Mac> mac;
};

class DhcpServer;

// Compiled policy as the controller sends it: endpoint groups by VRF name, rules as the
// forwarder stores them, and what each rule id means.
struct PolicySpec {
  struct Epg {
    std::string vrf;
    Prefix prefix;
    uint32_t epg = 0;
  };
  std::vector<Epg> epgs;
  std::vector<std::pair<vr_rule_key, vr_rule>> rules;
  std::map<uint32_t, std::string> descriptions;
  std::map<uint32_t, std::string> analyzers;  // rule id of a mirroring pass -> interface name
  std::map<std::string, uint32_t> analyzer_hosts;  // an analyzer elsewhere -> its host (fabric IPv4)
  // Interfaces under policy (their flows go through the flow table); absent: all of them.
  std::optional<std::set<std::string>> interfaces;
};

// Told of every local change that other hosts must learn of (the EVPN advertiser).
struct AgentObserver {
  virtual ~AgentObserver() = default;
  virtual void vrf_changed(const Vrf& vrf, bool removed) = 0;
  virtual void interface_changed(const Interface& ifc, const Vrf& vrf, bool removed) = 0;
};

class AgentState {
 public:
  AgentState(Datapath& dp, const AgentConfig& cfg);
  ~AgentState();  // removes the veths it created and detaches from the fabric

  void set_observer(AgentObserver* o) { observer_ = o; }
  const Vrf& add_vrf(const std::string& name, std::optional<uint32_t> vni, const std::string& route_target = "",
                     vr_encap encap = VR_ENCAP_NONE);
  void del_vrf(const std::string& name);
  // Which other networks' routes the VRF imports (by route target); local workloads of
  // those networks are routed into it at once, remote ones arrive over EVPN.
  void set_vrf_imports(const std::string& name, const std::set<std::string>& route_targets);
  const Interface& add_interface(const InterfaceSpec& spec);
  void del_interface(const std::string& name);
  // New addresses or lease for an interface, without touching its veth (the workload keeps
  // its link while an address is added or its instance IP arrives).
  void set_interface_addresses(const std::string& name, const InterfaceSpec& spec);
  void add_endpoint(const EndpointSpec& spec);
  void del_endpoint(const std::string& vrf, const Mac& mac);
  void add_route(const std::string& vrf, const Prefix& p, const NexthopSpec& nh);
  void del_route(const std::string& vrf, const Prefix& p);
  // Replaces the policy tables; interfaces go through the flow table while any is set.
  void set_policy(const PolicySpec& policy);
  const PolicySpec& policy() const { return policy_; }
  uint32_t policy_generation() const { return dp_cfg_.policy_generation; }
  bool policy_enabled() const { return !policy_.epgs.empty() || !policy_.rules.empty(); }
  void add_vni(uint32_t vni, const std::string& vrf);
  void del_vni(uint32_t vni);

  const std::map<std::string, Vrf>& vrfs() const { return vrfs_; }
  const std::map<std::string, Interface>& interfaces() const { return ifaces_; }
  const std::map<std::pair<uint32_t, vr_encap>, Tunnel>& tunnels() const { return tunnels_; }
  const std::map<std::pair<uint32_t, Prefix>, Route>& routes() const { return routes_; }
  const std::map<std::pair<uint32_t, Mac>, Route>& l2() const { return l2_; }
  const std::map<std::pair<std::string, Mac>, EndpointSpec>& endpoints() const { return endpoints_; }
  const AgentConfig& config() const { return cfg_; }
  vr_encap encap_of(const Vrf& v) const { return v.encap == VR_ENCAP_NONE ? cfg_.default_encap : v.encap; }
  Datapath& datapath() { return dp_; }
  PortBindings& bindings() { return bindings_; }

 private:
  Datapath& dp_;
  AgentConfig cfg_;
  PortBindings bindings_;
  std::unique_ptr<DhcpServer> dhcp_;
  vr_config dp_cfg_{};
  PolicySpec policy_;
  std::set<std::pair<uint32_t, Prefix>> installed_epgs_;
  std::set<std::string> installed_rules_;  // rule keys as bytes
  std::string policy_digest_;              // what was installed, to see whether it changed
  void write_iface(const Interface& ifc);
  void write_guard(const Interface& ifc, const InterfaceSpec& now, const InterfaceSpec* before);
  void check_pairs(const InterfaceSpec& spec) const;
  AgentObserver* observer_ = nullptr;
  Mac fabric_mac_{};
  int fabric_ifindex_ = 0;
  std::map<std::string, Vrf> vrfs_;
  std::map<std::string, Interface> ifaces_;
  std::map<std::pair<uint32_t, vr_encap>, Tunnel> tunnels_;
  std::map<std::pair<uint32_t, Prefix>, Route> routes_;  // (vrf id, prefix)
  std::map<std::pair<uint32_t, Mac>, Route> l2_;         // (vrf id, mac)
  std::map<std::pair<std::string, Mac>, EndpointSpec> endpoints_;
  std::map<uint32_t, uint32_t> vnis_;                    // vni -> vrf id
  std::set<uint32_t> free_nh_, free_labels_;
  uint32_t next_nh_ = kNhFirstDynamic, next_label_ = VR_LABEL_MIN, next_vrf_ = 1;

  const Vrf& vrf(const std::string& name) const;
  uint32_t alloc_nh();
  void free_nh(uint32_t id);
  uint32_t alloc_label();
  uint32_t tunnel_ref(uint32_t remote, vr_encap encap);
  void tunnel_unref(uint32_t nh_id);
  void put_route(uint32_t vrf, const Prefix& p, const vr_fwd& fwd, const std::string& owner);
  void drop_route(uint32_t vrf, const Prefix& p);
  void put_l2(uint32_t vrf, const Mac& mac, const vr_fwd& fwd, const std::string& owner);
  void drop_l2(uint32_t vrf, const Mac& mac);
  void leak_interface(const Interface& ifc, bool add);
  void leak_into(const Vrf& into, const Interface& ifc, bool add);
};

// The spec as stored: a DHCP lease's address is one of the workload's addresses.
InterfaceSpec with_lease_address(InterfaceSpec spec);

vr_encap parse_encap(const std::string& name);  // "vxlan" | "mplsudp" | "mplsgre"
const char* encap_name(uint8_t encap);
uint32_t parse_ipv4(const std::string& text);   // network order; throws AgentError
std::string ipv4_str(uint32_t addr);

}  // namespace vrfabric
