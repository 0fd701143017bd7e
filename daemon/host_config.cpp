#include "host_config.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <map>
#include <set>

#include "request.h"

namespace vrfabric {

namespace {

struct DesiredVrf {
  Vrf vrf;
  std::set<Prefix> gateways;
};

bool same_vrf(const Vrf& a, const Vrf& b) {
  return a.vni == b.vni && a.route_target == b.route_target && a.encap == b.encap;
}

// Same port: only its addresses or lease may differ, which are changed in place.
bool same_port(const InterfaceSpec& a, const InterfaceSpec& b) {
  return a.vrf == b.vrf && a.mac == b.mac && a.netns == b.netns && a.peer_name == b.peer_name;
}

const json& list(const json& snap, const char* field) {
  static const json empty = json::array();
  auto it = snap.find(field);
  if (it == snap.end() || it->is_null()) return empty;
  if (!it->is_array()) throw AgentError(fmt::format("snapshot field '{}' must be a list", field));
  return *it;
}

// Parses an element, prefixing any error with where it was.
template <typename F>
auto at(const char* field, size_t i, F fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    throw AgentError(fmt::format("{}[{}]: {}", field, i, e.what()));
  }
}

}  // namespace

ReconcileReport reconcile(AgentState& st, const json& snap) {
  if (!snap.is_object()) throw AgentError("snapshot must be a JSON object");
  std::map<std::string, DesiredVrf> vrfs;
  std::map<std::string, InterfaceSpec> ifaces;
  const json& jv = list(snap, "vrfs");
  for (size_t i = 0; i < jv.size(); ++i)
    at("vrfs", i, [&] {
      if (!jv[i].is_object()) throw AgentError("must be an object");
      json copy = jv[i];
      copy.erase("gateways");
      Request r{copy};
      DesiredVrf d{vrf_spec(r), {}};
      if (auto g = jv[i].find("gateways"); g != jv[i].end()) {
        Request gr{jv[i]};
        for (auto& p : gr.hosts("gateways")) d.gateways.insert(p);
      }
      if (vrfs.count(d.vrf.name)) throw AgentError(fmt::format("VRF '{}' appears twice", d.vrf.name));
      vrfs[d.vrf.name] = d;
    });
  const json& ji = list(snap, "interfaces");
  std::vector<std::string> unattached;
  for (size_t i = 0; i < ji.size(); ++i)
    at("interfaces", i, [&] {
      if (!ji[i].is_object()) throw AgentError("must be an object");
      // Where the port is plugged comes from the host's runtime, never from the snapshot.
      json port = ji[i];
      auto uuid = port.find("uuid");
      if (uuid == port.end() || !uuid->is_string()) throw AgentError("field 'uuid' is required");
      const PortBinding* b = st.bindings().find(*uuid);
      if (!b) {
        unattached.push_back(*uuid);
        return;
      }
      port["netns"] = b->netns;
      port["peer_name"] = b->ifname;
      InterfaceSpec s = with_lease_address(interface_spec(Request{port}));
      if (!vrfs.count(s.vrf)) throw AgentError(fmt::format("VRF '{}' is not in the snapshot", s.vrf));
      if (ifaces.count(s.name)) throw AgentError(fmt::format("interface '{}' appears twice", s.name));
      ifaces[s.name] = s;
    });

  PolicySpec policy;
  if (auto it = snap.find("policy"); it != snap.end() && !it->is_null()) policy = policy_spec(*it);

  ReconcileReport rep;
  // Not a failure of ours, but retried like one: the runtime attaches the port when the
  // workload starts (`vrctl agent port attach UUID --netns NS`).
  for (auto& uuid : unattached) {
    rep.failed++;
    rep.errors.push_back(fmt::format("port {}: waiting for the host's runtime to attach it", uuid));
  }
  auto attempt = [&](const std::string& what, auto fn) {
    try {
      fn();
      return true;
    } catch (const std::exception& e) {
      rep.failed++;
      rep.errors.push_back(fmt::format("{}: {}", what, e.what()));
      spdlog::warn("reconcile: {}: {}", what, e.what());
      return false;
    }
  };

  // 1. VRFs that go away or change, with what lives in them.
  std::set<std::string> stale_vrfs;
  for (auto& [name, v] : st.vrfs()) {
    auto d = vrfs.find(name);
    if (d == vrfs.end() || !same_vrf(v, d->second.vrf)) stale_vrfs.insert(name);
  }
  // 2. Interfaces that go away or change (also those of stale VRFs).
  std::vector<std::string> stale_ifaces;
  for (auto& [name, ifc] : st.interfaces()) {
    auto d = ifaces.find(name);
    if (d == ifaces.end() || !same_port(ifc.spec, d->second) || stale_vrfs.count(ifc.spec.vrf))
      stale_ifaces.push_back(name);
  }
  for (auto& name : stale_ifaces)
    if (attempt("remove interface " + name, [&] { st.del_interface(name); })) rep.removed++;
  for (auto& name : stale_vrfs) {
    std::vector<Mac> eps;
    for (auto& [key, ep] : st.endpoints())
      if (key.first == name) eps.push_back(key.second);
    for (auto& m : eps) st.del_endpoint(name, m);
    if (attempt("remove VRF " + name, [&] { st.del_vrf(name); })) rep.removed++;
  }
  // 3. VRFs and their gateway addresses.
  // Plain references, not structured bindings: clang 14 (the fuzz build) cannot capture those.
  for (auto& entry : vrfs) {
    auto& name = entry.first;
    auto& d = entry.second;
    if (!st.vrfs().count(name) &&
        !attempt("add VRF " + name, [&] { st.add_vrf(name, d.vrf.vni, d.vrf.route_target, d.vrf.encap); }))
      continue;
    attempt("set imports of VRF " + name, [&] { st.set_vrf_imports(name, d.vrf.imports); });
    uint32_t id = st.vrfs().at(name).id;
    std::vector<Prefix> have;
    for (auto& [key, route] : st.routes())
      if (key.first == id && route.owner == "static" && route.fwd.nh_id == kNhReceive) have.push_back(key.second);
    for (auto& p : have)
      if (!d.gateways.count(p)) st.del_route(name, p);
    for (auto& p : d.gateways)
      if (std::find(have.begin(), have.end(), p) == have.end())
        attempt(fmt::format("add gateway {} in {}", p.str(), name),
                [&] { st.add_route(name, p, NexthopSpec{NexthopSpec::Receive}); });
  }
  // 4. Interfaces. The workload's namespace is made by its runtime (CNI, the VM launcher);
  // until it exists the interface fails here and is tried again with the next snapshot.
  for (auto& entry : ifaces) {
    auto& name = entry.first;
    auto& spec = entry.second;
    auto have = st.interfaces().find(name);
    if (have != st.interfaces().end()) {
      if (have->second.spec.ips != spec.ips || have->second.spec.dhcp != spec.dhcp ||
          have->second.spec.pairs != spec.pairs)
        attempt("readdress interface " + name, [&] { st.set_interface_addresses(name, spec); });
      continue;
    }
    if (!st.vrfs().count(spec.vrf)) continue;
    if (attempt("add interface " + name, [&] { st.add_interface(spec); })) rep.added++;
  }
  // 5. Policy last: its endpoint groups are keyed by the VRFs made above.
  attempt("install policy", [&] { st.set_policy(policy); });
  return rep;
}

}  // namespace vrfabric
