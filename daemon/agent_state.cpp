#include "agent_state.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dhcp_server.h"
#include "links.h"

namespace vrfabric {

namespace {
constexpr int kNeighborTimeoutMs = 3000;

vr_fwd make_fwd(uint32_t nh, uint32_t label, const Mac* mac, bool host) {
  vr_fwd f{};
  f.nh_id = nh;
  f.label = label;
  if (mac) {
    std::copy(mac->begin(), mac->end(), f.mac);
    f.flags |= VR_FWD_F_HAS_MAC;
    if (host) f.flags |= VR_FWD_F_HOST;
  }
  return f;
}
}  // namespace

vr_encap parse_encap(const std::string& name) {
  if (name == "vxlan") return VR_ENCAP_VXLAN;
  if (name == "mplsudp" || name == "mpls-over-udp") return VR_ENCAP_MPLSUDP;
  if (name == "mplsgre" || name == "mpls-over-gre") return VR_ENCAP_MPLSGRE;
  throw AgentError(fmt::format("unknown encapsulation '{}' (vxlan, mplsudp or mplsgre)", name));
}

const char* encap_name(uint8_t encap) {
  switch (encap) {
    case VR_ENCAP_VXLAN: return "vxlan";
    case VR_ENCAP_MPLSUDP: return "mplsudp";
    case VR_ENCAP_MPLSGRE: return "mplsgre";
  }
  return "none";
}

uint32_t parse_ipv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) throw AgentError(fmt::format("'{}' is not an IPv4 address", text));
  return a.s_addr;
}

std::string ipv4_str(uint32_t addr) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr, buf, sizeof buf);
  return buf;
}

AgentState::AgentState(Datapath& dp, const AgentConfig& cfg) : dp_(dp), cfg_(cfg), bindings_(cfg.bindings_file) {
  auto fabric = links::get(cfg_.fabric_ifname);
  if (cfg_.fabric_ip == 0) cfg_.fabric_ip = fabric.ipv4;
  if (cfg_.fabric_ip == 0)
    throw AgentError(fmt::format("fabric interface {} has no IPv4 address; give --fabric-ip", cfg_.fabric_ifname));
  fabric_ifindex_ = fabric.ifindex;
  fabric_mac_ = fabric.mac;

  vr_config& c = dp_cfg_;
  std::copy(cfg_.router_mac.begin(), cfg_.router_mac.end(), c.router_mac);
  c.fabric_ifindex = static_cast<uint32_t>(fabric_ifindex_);
  c.fabric_ip = cfg_.fabric_ip;
  dp_.set_config(c);

  vr_iface fi{};
  fi.kind = VR_IFACE_FABRIC;
  fi.fabric_ip = cfg_.fabric_ip;
  std::copy(fabric_mac_.begin(), fabric_mac_.end(), fi.mac);
  dp_.set_iface(static_cast<uint32_t>(fabric_ifindex_), fi);
  dp_.set_nexthop(kNhDiscard, vr_nexthop{.type = VR_NH_DISCARD});
  dp_.set_nexthop(kNhReceive, vr_nexthop{.type = VR_NH_RECEIVE});
  dp_.attach_fabric(fabric_ifindex_);
  dhcp_ = std::make_unique<DhcpServer>(cfg_.router_mac);
  spdlog::info("fabric {} ifindex {} address {}", cfg_.fabric_ifname, fabric_ifindex_, ipv4_str(cfg_.fabric_ip));
}

AgentState::~AgentState() {
  for (auto& [name, ifc] : ifaces_) {
    dp_.detach(ifc.ifindex);
    links::delete_link(name);
  }
  dp_.detach(fabric_ifindex_);
}

const Vrf& AgentState::vrf(const std::string& name) const {
  auto it = vrfs_.find(name);
  if (it == vrfs_.end()) throw AgentError(fmt::format("no VRF named '{}'", name));
  return it->second;
}

uint32_t AgentState::alloc_nh() {
  if (!free_nh_.empty()) {
    uint32_t id = *free_nh_.begin();
    free_nh_.erase(free_nh_.begin());
    return id;
  }
  if (next_nh_ >= VR_MAX_NEXTHOPS) throw AgentError("next-hop table full");
  return next_nh_++;
}

void AgentState::free_nh(uint32_t id) {
  dp_.del_nexthop(id);
  free_nh_.insert(id);
}

uint32_t AgentState::alloc_label() {
  if (!free_labels_.empty()) {
    uint32_t l = *free_labels_.begin();
    free_labels_.erase(free_labels_.begin());
    return l;
  }
  if (next_label_ > VR_LABEL_MAX) throw AgentError("MPLS label space exhausted");
  return next_label_++;
}

const Vrf& AgentState::add_vrf(const std::string& name, std::optional<uint32_t> vni, const std::string& route_target,
                               vr_encap encap) {
  if (name.empty()) throw AgentError("a VRF needs a name");
  if (vrfs_.count(name)) throw AgentError(fmt::format("VRF '{}' already exists", name));
  if (vni && (*vni == 0 || *vni >= (1u << 24))) throw AgentError(fmt::format("VNI {} is outside 1..16777215", *vni));
  if (vni && vnis_.count(*vni)) throw AgentError(fmt::format("VNI {} is already in use", *vni));
  if (encap == VR_ENCAP_VXLAN && !vni) throw AgentError(fmt::format("VRF '{}' uses VXLAN but has no VNI", name));
  Vrf v{name, next_vrf_++, vni, route_target, encap};
  if (vni) {
    dp_.set_vni(*vni, v.id);
    vnis_[*vni] = v.id;
  }
  spdlog::info("vrf {} id {} vni {} rt {}", name, v.id, vni ? std::to_string(*vni) : "-", route_target);
  const Vrf& stored = vrfs_[name] = v;
  if (observer_) observer_->vrf_changed(stored, false);
  return stored;
}

void AgentState::del_vrf(const std::string& name) {
  const Vrf v = vrf(name);
  std::string users;
  for (auto& [n, ifc] : ifaces_)
    if (ifc.spec.vrf == name) users += " interface " + n;
  for (auto& [key, ep] : endpoints_)
    if (key.first == name) users += " endpoint " + mac_str(key.second);
  if (!users.empty()) throw AgentError(fmt::format("VRF '{}' is still used by:{}", name, users));
  for (auto it = routes_.begin(); it != routes_.end();) {
    auto cur = it++;
    if (cur->first.first == v.id) drop_route(v.id, cur->first.second);
  }
  for (auto it = vnis_.begin(); it != vnis_.end();) {
    auto cur = it++;
    if (cur->second == v.id) del_vni(cur->first);
  }
  if (observer_) observer_->vrf_changed(v, true);
  vrfs_.erase(name);
}

void AgentState::add_vni(uint32_t vni, const std::string& name) {
  Vrf& v = vrfs_.at(vrf(name).name);
  if (vni == 0 || vni >= (1u << 24)) throw AgentError(fmt::format("VNI {} is outside 1..16777215", vni));
  if (vnis_.count(vni)) throw AgentError(fmt::format("VNI {} is already in use", vni));
  dp_.set_vni(vni, v.id);
  vnis_[vni] = v.id;
  if (!v.vni) v.vni = vni;
}

void AgentState::del_vni(uint32_t vni) {
  auto it = vnis_.find(vni);
  if (it == vnis_.end()) throw AgentError(fmt::format("VNI {} is not configured", vni));
  dp_.del_vni(vni);
  for (auto& [n, v] : vrfs_)
    if (v.vni == vni) v.vni.reset();
  vnis_.erase(it);
}

void AgentState::put_route(uint32_t vrf_id, const Prefix& p, const vr_fwd& fwd, const std::string& owner) {
  dp_.set_route(vrf_id, p, fwd);
  routes_[{vrf_id, p}] = Route{fwd, owner};
}

void AgentState::drop_route(uint32_t vrf_id, const Prefix& p) {
  auto it = routes_.find({vrf_id, p});
  if (it == routes_.end()) return;
  dp_.del_route(vrf_id, p);
  if (it->second.owner == "static") tunnel_unref(it->second.fwd.nh_id);
  routes_.erase(it);
}

void AgentState::put_l2(uint32_t vrf_id, const Mac& mac, const vr_fwd& fwd, const std::string& owner) {
  dp_.set_l2(vrf_id, mac, fwd);
  l2_[{vrf_id, mac}] = Route{fwd, owner};
}

void AgentState::drop_l2(uint32_t vrf_id, const Mac& mac) {
  dp_.del_l2(vrf_id, mac);
  l2_.erase({vrf_id, mac});
}

// A local workload's host routes in a VRF that imports its network: same next hop, so the
// packet goes straight to the workload's veth.
void AgentState::leak_into(const Vrf& into, const Interface& ifc, bool add) {
  std::string owner = "interface " + ifc.spec.name;
  // Its allowed address pairs too: replies to them come back the same way.
  std::vector<std::pair<Prefix, Mac>> routed;
  for (auto& ip : ifc.spec.ips) routed.emplace_back(ip, ifc.spec.mac);
  for (auto& p : ifc.spec.pairs) routed.emplace_back(p.prefix, p.mac == Mac{} ? ifc.spec.mac : p.mac);
  for (auto& [ip, mac] : routed) {
    auto r = routes_.find({into.id, ip});
    if (!add) {
      if (r != routes_.end() && r->second.owner == owner) drop_route(into.id, ip);
    } else if (r == routes_.end() || r->second.owner == owner) {
      put_route(into.id, ip, make_fwd(ifc.nh_id, 0, &mac, ip.is_host()), owner);
    } else {
      spdlog::warn("{} of {} is not imported into {}: it is already routed there ({})", ip.str(), ifc.spec.name,
                   into.name, r->second.owner);
    }
  }
}

void AgentState::leak_interface(const Interface& ifc, bool add) {
  const Vrf& own = vrf(ifc.spec.vrf);
  if (own.route_target.empty()) return;
  for (auto& [name, v] : vrfs_)
    if (name != own.name && v.imports.count(own.route_target)) leak_into(v, ifc, add);
}

void AgentState::set_vrf_imports(const std::string& name, const std::set<std::string>& route_targets) {
  Vrf& v = vrfs_.at(vrf(name).name);
  if (v.imports == route_targets) return;
  auto exported = [&](const Interface& ifc, const std::set<std::string>& rts) {
    const Vrf& own = vrf(ifc.spec.vrf);
    return own.name != name && !own.route_target.empty() && rts.count(own.route_target);
  };
  for (auto& [n, ifc] : ifaces_)
    if (exported(ifc, v.imports) && !exported(ifc, route_targets)) leak_into(v, ifc, false);
  v.imports = route_targets;
  for (auto& [n, ifc] : ifaces_)
    if (exported(ifc, route_targets)) leak_into(v, ifc, true);
  spdlog::info("vrf {} imports {} other network(s)", name, route_targets.size());
  if (observer_) observer_->vrf_changed(v, false);
}

// A workload with an IPv6 address gets it over DHCPv6 (its first one).
std::optional<dhcp6::Lease> lease6_of(const InterfaceSpec& spec) {
  for (auto& p : spec.ips)
    if (p.family == AF_INET6) {
      dhcp6::Lease l;
      std::copy(p.addr.begin(), p.addr.end(), l.address.begin());
      return l;
    }
  return std::nullopt;
}

InterfaceSpec with_lease_address(InterfaceSpec spec) {
  if (spec.dhcp) {
    Prefix p{AF_INET, {}, 32};
    std::memcpy(p.addr.data(), &spec.dhcp->address, 4);
    if (std::find(spec.ips.begin(), spec.ips.end(), p) == spec.ips.end()) spec.ips.push_back(p);
  }
  return spec;
}

const Interface& AgentState::add_interface(const InterfaceSpec& in) {
  InterfaceSpec spec = with_lease_address(in);
  if (ifaces_.count(spec.name)) throw AgentError(fmt::format("interface '{}' already exists", spec.name));
  if (spec.netns.empty()) throw AgentError("an interface needs the workload's netns");
  for (auto& [name, other] : ifaces_)
    if (other.spec.netns == spec.netns && other.spec.peer_name == spec.peer_name) {
      spdlog::warn("refused interface {}: {} in namespace {} is interface {}'s", spec.name, spec.peer_name, spec.netns,
                   name);
      throw AgentError(fmt::format("namespace '{}' already holds {} of interface '{}'", spec.netns, spec.peer_name, name));
    }
  const Vrf& v = vrf(spec.vrf);
  if (spec.mac[0] & 1) throw AgentError(fmt::format("{} is a multicast MAC", mac_str(spec.mac)));
  check_pairs(spec);
  if (l2_.count({v.id, spec.mac}))
    throw AgentError(fmt::format("MAC {} is already in VRF '{}' ({})", mac_str(spec.mac), spec.vrf,
                                 l2_.at({v.id, spec.mac}).owner));
  for (auto& ip : spec.ips) {
    if (!ip.is_host()) throw AgentError(fmt::format("{}: an interface address must be a host address", ip.str()));
    if (routes_.count({v.id, ip}))
      throw AgentError(fmt::format("{} is already routed in VRF '{}' ({})", ip.str(), spec.vrf,
                                   routes_.at({v.id, ip}).owner));
  }

  auto fabric = links::get(cfg_.fabric_ifname);
  Interface ifc{spec};
  try {
    ifc.ifindex = links::create_workload_veth({spec.name, spec.netns, spec.peer_name, spec.mac,
                                               fabric.mtu - VR_MAX_ENCAP_OVERHEAD,
                                               dp_.peer_pass_fd()});
  } catch (const std::exception& e) {
    throw AgentError(e.what());
  }
  try {
    ifc.nh_id = alloc_nh();
    vr_nexthop nh{.type = VR_NH_IFACE, .ifindex = static_cast<uint32_t>(ifc.ifindex)};
    std::copy(spec.mac.begin(), spec.mac.end(), nh.dmac);
    dp_.set_nexthop(ifc.nh_id, nh);
    ifc.label = alloc_label();
    dp_.set_label(ifc.label, ifc.nh_id);
    write_iface(ifc);
    std::string owner = "interface " + spec.name;
    put_l2(v.id, spec.mac, make_fwd(ifc.nh_id, 0, nullptr, false), owner);
    for (auto& ip : spec.ips) put_route(v.id, ip, make_fwd(ifc.nh_id, 0, &spec.mac, true), owner);
    write_guard(ifc, spec, nullptr);
    leak_interface(ifc, true);
    dp_.attach_workload(ifc.ifindex);
    dhcp_->add(ifc.ifindex, spec.mac, spec.dhcp, lease6_of(spec));
  } catch (const std::exception& e) {
    ifaces_[spec.name] = ifc;  // let del_interface undo whatever was done
    del_interface(spec.name);
    throw AgentError(e.what());
  }
  spdlog::info("interface {} vrf {} mac {} label {} nh {}", spec.name, spec.vrf, mac_str(spec.mac), ifc.label, ifc.nh_id);
  const Interface& stored = ifaces_[spec.name] = ifc;
  if (observer_) observer_->interface_changed(stored, v, false);
  return stored;
}

void AgentState::write_iface(const Interface& ifc) {
  vr_iface entry{.vrf = vrf(ifc.spec.vrf).id, .nh_id = ifc.nh_id, .kind = VR_IFACE_WORKLOAD};
  std::copy(ifc.spec.mac.begin(), ifc.spec.mac.end(), entry.mac);
  if (policy_enabled() && (!policy_.interfaces || policy_.interfaces->count(ifc.spec.name)))
    entry.flags |= VR_IFACE_F_POLICY;
  dp_.set_iface(static_cast<uint32_t>(ifc.ifindex), entry);
}

void AgentState::check_pairs(const InterfaceSpec& spec) const {
  for (auto& p : spec.pairs)
    if (p.mac[0] & 1)
      throw AgentError(fmt::format("allowed address pair {}: {} is a multicast MAC", p.prefix.str(), mac_str(p.mac)));
}

// The port's entries in the source guard, and the routes (and L2 entries, for a pair's own
// MAC) that bring its pairs' traffic back to it. `now`'s go in first, then what only
// `before` had goes, so a change never leaves the port briefly unable to send.
void AgentState::write_guard(const Interface& ifc, const InterfaceSpec& now, const InterfaceSpec* before) {
  const auto ifx = static_cast<uint32_t>(ifc.ifindex);
  const Vrf& v = vrf(ifc.spec.vrf);
  const std::string owner = "interface " + ifc.spec.name;
  auto mac_of = [&](const AllowedPair& p) { return p.mac == Mac{} ? ifc.spec.mac : p.mac; };
  for (auto& ip : now.ips) dp_.set_guard_addr(ifx, ip);
  for (auto& p : now.pairs) {
    dp_.set_guard_pair(ifx, p.prefix, p.mac);
    Mac mac = mac_of(p);
    auto r = routes_.find({v.id, p.prefix});
    if (r == routes_.end() || r->second.owner == owner)
      put_route(v.id, p.prefix, make_fwd(ifc.nh_id, 0, &mac, p.prefix.is_host()), owner);
    else  // e.g. a virtual address two ports share (VRRP): the first one gets its traffic
      spdlog::warn("allowed address pair {} of {} is not routed to it: it is {}'s", p.prefix.str(), ifc.spec.name,
                   r->second.owner);
    auto l2 = l2_.find({v.id, mac});
    if (l2 == l2_.end()) put_l2(v.id, mac, make_fwd(ifc.nh_id, 0, nullptr, false), owner);
  }
  if (!before) return;
  auto has_ip = [&](const Prefix& ip) { return std::find(now.ips.begin(), now.ips.end(), ip) != now.ips.end(); };
  auto has_pair = [&](const Prefix& p) {
    return std::any_of(now.pairs.begin(), now.pairs.end(), [&](const AllowedPair& n) { return n.prefix == p; });
  };
  auto has_mac = [&](const Mac& m) {
    return m == ifc.spec.mac ||
           std::any_of(now.pairs.begin(), now.pairs.end(), [&](const AllowedPair& n) { return mac_of(n) == m; });
  };
  for (auto& ip : before->ips)
    if (!has_ip(ip)) dp_.del_guard_addr(ifx, ip);
  for (auto& p : before->pairs) {
    if (!has_pair(p.prefix)) {
      dp_.del_guard_pair(ifx, p.prefix);
      auto r = routes_.find({v.id, p.prefix});
      if (r != routes_.end() && r->second.owner == owner && !has_ip(p.prefix)) drop_route(v.id, p.prefix);
    }
    Mac mac = mac_of(p);
    auto l2 = l2_.find({v.id, mac});
    if (!has_mac(mac) && l2 != l2_.end() && l2->second.owner == owner) drop_l2(v.id, mac);
  }
}

void AgentState::set_policy(const PolicySpec& policy) {
  // Every snapshot carries the whole policy: resolve it and compare before touching the
  // maps, so an unchanged policy (the usual case) costs no map writes at all.
  auto bytes = [](const auto& v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); };
  std::string digest;
  std::vector<std::pair<uint32_t, const PolicySpec::Epg*>> epgs;
  for (auto& e : policy.epgs) {
    auto v = vrfs_.find(e.vrf);
    if (v == vrfs_.end()) continue;  // a network this host does not have
    epgs.emplace_back(v->second.id, &e);
    digest += bytes(v->second.id) + e.prefix.str() + bytes(e.epg);
  }
  for (auto& [key, rule] : policy.rules) digest += bytes(key) + bytes(rule);
  digest += policy.interfaces ? fmt::format("{}", fmt::join(*policy.interfaces, ",")) : "*";
  policy_ = policy;
  if (digest == policy_digest_) return;

  std::set<std::pair<uint32_t, Prefix>> installed;
  for (auto& [vrf_id, e] : epgs) {
    dp_.set_epg(vrf_id, e->prefix, e->epg);
    installed.insert({vrf_id, e->prefix});
  }
  for (auto& old : installed_epgs_)
    if (!installed.count(old)) dp_.del_epg(old.first, old.second);
  std::set<std::string> rules;
  for (auto& [key, rule] : policy.rules) {
    dp_.set_rule(key, rule);
    rules.insert(bytes(key));
  }
  for (auto& old : installed_rules_)
    if (!rules.count(old)) {
      vr_rule_key k;
      std::memcpy(&k, old.data(), sizeof k);
      dp_.del_rule(k);
    }
  installed_epgs_ = std::move(installed);
  installed_rules_ = std::move(rules);
  for (auto& [n, ifc] : ifaces_) write_iface(ifc);  // which are under policy may have changed
  policy_digest_ = digest;
  dp_cfg_.policy_generation++;  // every flow is decided again at its next packet
  dp_cfg_.flags = policy_enabled() ? VR_CFG_F_POLICY : 0;
  dp_.set_config(dp_cfg_);
  spdlog::info("policy generation {}: {} endpoint groups, {} rules, interfaces under policy: {}",
               dp_cfg_.policy_generation, installed_epgs_.size(), installed_rules_.size(),
               policy_.interfaces ? fmt::format("{}", fmt::join(*policy_.interfaces, " ")) : "all");
}

void AgentState::del_interface(const std::string& name) {
  auto it = ifaces_.find(name);
  if (it == ifaces_.end()) throw AgentError(fmt::format("no interface named '{}'", name));
  const Interface ifc = it->second;
  const Vrf& v = vrf(ifc.spec.vrf);
  uint32_t vrf_id = v.id;
  if (observer_ && ifc.label) observer_->interface_changed(ifc, v, true);
  dhcp_->remove(ifc.ifindex);
  dp_.detach(ifc.ifindex);
  leak_interface(ifc, false);
  for (auto& ip : ifc.spec.ips) drop_route(vrf_id, ip);
  if (ifc.ifindex) write_guard(ifc, InterfaceSpec{}, &ifc.spec);
  auto l2 = l2_.find({vrf_id, ifc.spec.mac});
  if (l2 != l2_.end() && l2->second.owner == "interface " + name) drop_l2(vrf_id, ifc.spec.mac);
  if (ifc.ifindex) dp_.del_iface(static_cast<uint32_t>(ifc.ifindex));
  if (ifc.label) {
    dp_.del_label(ifc.label);
    free_labels_.insert(ifc.label);
  }
  if (ifc.nh_id) free_nh(ifc.nh_id);
  links::delete_link(name);
  ifaces_.erase(it);
  spdlog::info("interface {} removed", name);
}

void AgentState::set_interface_addresses(const std::string& name, const InterfaceSpec& in) {
  auto it = ifaces_.find(name);
  if (it == ifaces_.end()) throw AgentError(fmt::format("no interface named '{}'", name));
  InterfaceSpec spec = with_lease_address(in);
  Interface& ifc = it->second;
  const Vrf& v = vrf(ifc.spec.vrf);
  std::string owner = "interface " + name;
  for (auto& ip : spec.ips) {
    if (!ip.is_host()) throw AgentError(fmt::format("{}: an interface address must be a host address", ip.str()));
    auto r = routes_.find({v.id, ip});
    if (r != routes_.end() && r->second.owner != owner)
      throw AgentError(fmt::format("{} is already routed in VRF '{}' ({})", ip.str(), ifc.spec.vrf, r->second.owner));
  }
  check_pairs(spec);
  if (observer_) observer_->interface_changed(ifc, v, true);  // withdraw the old MAC/IP routes
  Interface gone = ifc;  // the addresses it no longer has, also where they were imported
  std::erase_if(gone.spec.ips, [&](const Prefix& ip) { return std::find(spec.ips.begin(), spec.ips.end(), ip) != spec.ips.end(); });
  std::erase_if(gone.spec.pairs, [&](const AllowedPair& p) { return std::find(spec.pairs.begin(), spec.pairs.end(), p) != spec.pairs.end(); });
  leak_interface(gone, false);
  for (auto& ip : ifc.spec.ips)
    if (std::find(spec.ips.begin(), spec.ips.end(), ip) == spec.ips.end()) drop_route(v.id, ip);
  for (auto& ip : spec.ips) put_route(v.id, ip, make_fwd(ifc.nh_id, 0, &ifc.spec.mac, true), owner);
  dhcp_->add(ifc.ifindex, ifc.spec.mac, spec.dhcp, lease6_of(spec));
  InterfaceSpec before = ifc.spec;
  ifc.spec.ips = spec.ips;
  ifc.spec.dhcp = spec.dhcp;
  ifc.spec.pairs = spec.pairs;
  write_guard(ifc, ifc.spec, &before);
  leak_interface(ifc, true);
  if (observer_) observer_->interface_changed(ifc, v, false);
}

uint32_t AgentState::tunnel_ref(uint32_t remote, vr_encap encap) {
  auto key = std::make_pair(remote, encap);
  auto it = tunnels_.find(key);
  if (it != tunnels_.end()) {
    it->second.refs++;
    return it->second.nh_id;
  }
  if (remote == cfg_.fabric_ip) throw AgentError("a tunnel cannot point at this host's own fabric address");
  auto dmac = links::resolve_neighbor(fabric_ifindex_, remote, kNeighborTimeoutMs);
  if (!dmac)
    throw AgentError(fmt::format("cannot resolve underlay neighbour {} on {}", ipv4_str(remote), cfg_.fabric_ifname));
  Tunnel t{remote, encap, alloc_nh(), *dmac, 1};
  vr_nexthop nh{.type = VR_NH_TUNNEL, .encap = static_cast<uint8_t>(encap),
                .ifindex = static_cast<uint32_t>(fabric_ifindex_), .tun_src = cfg_.fabric_ip, .tun_dst = remote};
  std::copy(dmac->begin(), dmac->end(), nh.dmac);
  std::copy(fabric_mac_.begin(), fabric_mac_.end(), nh.smac);
  dp_.set_nexthop(t.nh_id, nh);
  tunnels_[key] = t;
  return t.nh_id;
}

void AgentState::tunnel_unref(uint32_t nh_id) {
  for (auto it = tunnels_.begin(); it != tunnels_.end(); ++it) {
    if (it->second.nh_id != nh_id) continue;
    if (--it->second.refs == 0) {
      free_nh(nh_id);
      tunnels_.erase(it);
    }
    return;
  }
}

void AgentState::add_endpoint(const EndpointSpec& in) {
  const Vrf& v = vrf(in.vrf);
  EndpointSpec spec = in;
  if (spec.encap == VR_ENCAP_NONE) spec.encap = cfg_.default_encap;
  if (spec.remote == 0) throw AgentError("an endpoint needs the remote host's fabric address");
  if (spec.routes_only && spec.ips.empty()) throw AgentError("an imported endpoint needs an address to route");
  if (spec.mac[0] & 1) throw AgentError(fmt::format("{} is a multicast MAC", mac_str(spec.mac)));
  if (spec.encap == VR_ENCAP_VXLAN && spec.label == 0) {
    if (!v.vni) throw AgentError(fmt::format("VRF '{}' has no VNI: give the endpoint a label", in.vrf));
    spec.label = *v.vni;
  }
  if (spec.encap != VR_ENCAP_VXLAN && (spec.label < VR_LABEL_MIN || spec.label > VR_LABEL_MAX))
    throw AgentError(fmt::format("MPLS label {} is outside {}..{}", spec.label, VR_LABEL_MIN, VR_LABEL_MAX));
  std::string owner = "endpoint " + mac_str(spec.mac);
  auto l2 = l2_.find({v.id, spec.mac});
  if (!spec.routes_only && l2 != l2_.end() && l2->second.owner != owner)
    throw AgentError(fmt::format("MAC {} is already in VRF '{}' ({})", mac_str(spec.mac), in.vrf, l2->second.owner));
  for (auto& ip : spec.ips) {
    if (!ip.is_host()) throw AgentError(fmt::format("{}: an endpoint address must be a host address", ip.str()));
    auto r = routes_.find({v.id, ip});
    if (r != routes_.end() && r->second.owner != owner)
      throw AgentError(fmt::format("{} is already routed in VRF '{}' ({})", ip.str(), in.vrf, r->second.owner));
  }

  uint32_t nh = tunnel_ref(spec.remote, spec.encap);
  if (endpoints_.count({in.vrf, spec.mac})) del_endpoint(in.vrf, spec.mac);  // moved: replace
  if (!spec.routes_only) put_l2(v.id, spec.mac, make_fwd(nh, spec.label, &spec.mac, false), owner);
  for (auto& ip : spec.ips) put_route(v.id, ip, make_fwd(nh, spec.label, &spec.mac, true), owner);
  endpoints_[{in.vrf, spec.mac}] = spec;
}

void AgentState::del_endpoint(const std::string& vrf_name, const Mac& mac) {
  auto it = endpoints_.find({vrf_name, mac});
  if (it == endpoints_.end())
    throw AgentError(fmt::format("no endpoint {} in VRF '{}'", mac_str(mac), vrf_name));
  uint32_t vrf_id = vrf(vrf_name).id;
  std::string owner = "endpoint " + mac_str(mac);
  uint32_t nh = 0;  // the tunnel it holds a reference on, from whichever entry it made
  if (auto l2 = l2_.find({vrf_id, mac}); l2 != l2_.end() && l2->second.owner == owner) nh = l2->second.fwd.nh_id;
  for (auto& ip : it->second.ips) {
    auto r = routes_.find({vrf_id, ip});
    if (r == routes_.end() || r->second.owner != owner) continue;
    nh = r->second.fwd.nh_id;
    drop_route(vrf_id, ip);
  }
  if (!it->second.routes_only) drop_l2(vrf_id, mac);
  tunnel_unref(nh);
  endpoints_.erase(it);
}

void AgentState::add_route(const std::string& vrf_name, const Prefix& p, const NexthopSpec& spec) {
  const Vrf& v = vrf(vrf_name);
  auto existing = routes_.find({v.id, p});
  if (existing != routes_.end() && existing->second.owner != "static")
    throw AgentError(fmt::format("{} in VRF '{}' belongs to {}", p.str(), vrf_name, existing->second.owner));
  vr_fwd fwd{};
  switch (spec.kind) {
    case NexthopSpec::Discard:
      fwd = make_fwd(kNhDiscard, 0, nullptr, false);
      break;
    case NexthopSpec::Receive:
      fwd = make_fwd(kNhReceive, 0, &cfg_.router_mac, p.is_host());
      break;
    case NexthopSpec::Interface: {
      auto it = ifaces_.find(spec.interface);
      if (it == ifaces_.end()) throw AgentError(fmt::format("no interface named '{}'", spec.interface));
      if (it->second.spec.vrf != vrf_name)
        throw AgentError(fmt::format("interface '{}' is in VRF '{}', not '{}'", spec.interface, it->second.spec.vrf, vrf_name));
      fwd = make_fwd(it->second.nh_id, 0, &it->second.spec.mac, false);
      break;
    }
    case NexthopSpec::Tunnel:
      if (!spec.mac) throw AgentError("a route through a tunnel needs the destination MAC ('mac')");
      fwd = make_fwd(tunnel_ref(spec.remote, spec.encap), spec.label, &*spec.mac, false);
      break;
  }
  drop_route(v.id, p);
  put_route(v.id, p, fwd, "static");
}

void AgentState::del_route(const std::string& vrf_name, const Prefix& p) {
  const Vrf& v = vrf(vrf_name);
  auto it = routes_.find({v.id, p});
  if (it == routes_.end()) throw AgentError(fmt::format("no route {} in VRF '{}'", p.str(), vrf_name));
  if (it->second.owner != "static")
    throw AgentError(fmt::format("{} belongs to {}; remove that instead", p.str(), it->second.owner));
  drop_route(v.id, p);
}

}  // namespace vrfabric
