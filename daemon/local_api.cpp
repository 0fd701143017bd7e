#include "local_api.h"
#include "host_config.h"
#include "request.h"

#include <spdlog/spdlog.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>
#include <set>

namespace vrfabric {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxRequestBytes = 32u << 20;  // a whole compiled policy fits

json vrf_json(const Vrf& v) {
  json j = {{"name", v.name}, {"id", v.id}, {"route_target", v.route_target}, {"encap", encap_name(v.encap)}};
  j["vni"] = v.vni ? json(*v.vni) : json(nullptr);
  j["imports"] = v.imports;
  return j;
}

json fwd_json(const AgentState& st, const vr_fwd& f) {
  json j = {{"nexthop", f.nh_id}};
  if (f.nh_id == kNhDiscard) j["type"] = "discard";
  else if (f.nh_id == kNhReceive) j["type"] = "receive";
  for (auto& [name, ifc] : st.interfaces())
    if (ifc.nh_id == f.nh_id) j["type"] = "interface", j["interface"] = name;
  for (auto& [key, t] : st.tunnels())
    if (t.nh_id == f.nh_id)
      j["type"] = "tunnel", j["remote"] = ipv4_str(t.remote), j["encap"] = encap_name(t.encap), j["label"] = f.label;
  if (f.flags & VR_FWD_F_HAS_MAC) j["mac"] = mac_str(Mac{f.mac[0], f.mac[1], f.mac[2], f.mac[3], f.mac[4], f.mac[5]});
  return j;
}

std::string flow_addr(const vr_flow_key& k, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(k.family == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

// The flow table as vrctl shows it: one line a flow (both directions), from the end that
// opened it to the other, with the action and the rule that decided.
json flows_json(AgentState& st, const std::string& vrf, const std::string& address, const std::string& action,
                uint32_t limit) {
  std::map<uint32_t, std::string> names;
  for (auto& [n, v] : st.vrfs()) names[v.id] = n;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
  static const char* actions[] = {"deny", "pass", "mirror"};
  json out = json::array();
  for (auto& [k, f] : st.datapath().flows()) {
    bool swapped = f.flags & VR_FLOW_F_SWAPPED;
    std::string src = flow_addr(k, swapped ? k.dst : k.src), dst = flow_addr(k, swapped ? k.src : k.dst);
    uint16_t sport = ntohs(swapped ? k.dport : k.sport), dport = ntohs(swapped ? k.sport : k.dport);
    if (!vrf.empty() && names[k.vrf] != vrf) continue;
    if (!address.empty() && src != address && dst != address) continue;
    if (!action.empty() && (f.action >= 3 || action != actions[f.action])) continue;
    if (out.size() >= limit) break;
    auto desc = st.policy().descriptions.find(f.rule_id);
    out.push_back({{"vrf", names.count(k.vrf) ? names[k.vrf] : std::to_string(k.vrf)}, {"proto", k.proto},
                   {"src", fmt::format("{}:{}", src, sport)}, {"dst", fmt::format("{}:{}", dst, dport)},
                   {"action", f.action < 3 ? actions[f.action] : "?"}, {"rule", f.rule_id},
                   {"decided_by", desc != st.policy().descriptions.end() ? desc->second : (f.rule_id ? "" : "default")},
                   {"other_vrf", f.pair_vrf && f.pair_vrf != k.vrf ? json(names[f.pair_vrf]) : json(nullptr)},
                   {"closing", (f.flags & VR_FLOW_F_CLOSING) != 0}, {"packets", f.packets}, {"bytes", f.bytes},
                   {"idle_s", (now_ns - f.last_seen_ns) / 1000000000ull}});
  }
  return out;
}

NexthopSpec nexthop_spec(const Request& r) {
  NexthopSpec nh;
  std::string kind = r.str("nexthop");
  if (kind == "discard") nh.kind = NexthopSpec::Discard;
  else if (kind == "receive") nh.kind = NexthopSpec::Receive;
  else if (kind == "interface") {
    nh.kind = NexthopSpec::Interface;
    nh.interface = r.str("interface");
  } else if (kind == "tunnel") {
    nh.kind = NexthopSpec::Tunnel;
    nh.remote = parse_ipv4(r.str("remote"));
    nh.encap = parse_encap(r.str("encap"));
    nh.label = r.u32("label");
    if (r.find("mac")) nh.mac = r.mac("mac");
  } else {
    throw AgentError(fmt::format("field 'nexthop': '{}' is not discard, receive, interface or tunnel", kind));
  }
  return nh;
}

struct Op {
  std::set<std::string> fields;
  std::function<json(AgentState&, const Request&)> run;
};

const std::map<std::string, Op>& ops() {
  static const std::map<std::string, Op> table = {
      {"vrf.add", {{"name", "vni", "route_target", "encap", "imports"}, [](AgentState& st, const Request& r) {
         Vrf v = vrf_spec(r);
         st.add_vrf(v.name, v.vni, v.route_target, v.encap);
         st.set_vrf_imports(v.name, v.imports);
         return vrf_json(st.vrfs().at(v.name));
       }}},
      {"vrf.del", {{"name"}, [](AgentState& st, const Request& r) { st.del_vrf(r.str("name")); return json(); }}},
      {"vrf.list", {{}, [](AgentState& st, const Request&) {
         json out = json::array();
         for (auto& [n, v] : st.vrfs()) out.push_back(vrf_json(v));
         return out;
       }}},
      {"vni.add", {{"vni", "vrf"}, [](AgentState& st, const Request& r) {
         st.add_vni(r.u32("vni"), r.str("vrf"));
         return json();
       }}},
      {"vni.del", {{"vni"}, [](AgentState& st, const Request& r) { st.del_vni(r.u32("vni")); return json(); }}},
      {"interface.add", {{"name", "vrf", "mac", "netns", "peer_name", "ips", "dhcp", "allowed_pairs"}, [](AgentState& st, const Request& r) {
         InterfaceSpec s = interface_spec(r);
         auto& ifc = st.add_interface(s);
         return json{{"name", s.name}, {"ifindex", ifc.ifindex}, {"label", ifc.label}, {"nexthop", ifc.nh_id}};
       }}},
      {"port.attach", {{"uuid", "netns", "ifname"}, [](AgentState& st, const Request& r) {
         st.bindings().attach(r.str("uuid"), {r.str("netns"), r.str_or("ifname", "eth0")});
         return json();
       }}},
      {"port.detach", {{"uuid"}, [](AgentState& st, const Request& r) {
         if (!st.bindings().detach(r.str("uuid"))) throw AgentError(fmt::format("port {} is not attached", r.str("uuid")));
         return json();
       }}},
      {"port.list", {{}, [](AgentState& st, const Request&) {
         json out = json::array();
         for (auto& [uuid, b] : st.bindings().all()) out.push_back({{"uuid", uuid}, {"netns", b.netns}, {"ifname", b.ifname}});
         return out;
       }}},
      {"interface.del", {{"name"}, [](AgentState& st, const Request& r) { st.del_interface(r.str("name")); return json(); }}},
      {"interface.list", {{}, [](AgentState& st, const Request&) {
         json out = json::array();
         for (auto& [n, i] : st.interfaces()) {
           json ips = json::array();
           for (auto& p : i.spec.ips) ips.push_back(p.str());
           json pairs = json::array();
           for (auto& p : i.spec.pairs)
             pairs.push_back(p.prefix.str() + (p.mac == Mac{} ? "" : "," + mac_str(p.mac)));
           out.push_back({{"name", n}, {"vrf", i.spec.vrf}, {"mac", mac_str(i.spec.mac)}, {"netns", i.spec.netns},
                          {"ifindex", i.ifindex}, {"label", i.label}, {"nexthop", i.nh_id}, {"ips", ips},
                          {"allowed_pairs", pairs}});
         }
         return out;
       }}},
      {"endpoint.add", {{"vrf", "mac", "ips", "remote", "encap", "label"}, [](AgentState& st, const Request& r) {
         EndpointSpec s{r.str("vrf"), r.mac("mac"), r.hosts("ips"), parse_ipv4(r.str("remote")),
                        r.find("encap") ? parse_encap(r.str("encap")) : VR_ENCAP_NONE, r.opt_u32("label").value_or(0)};
         st.add_endpoint(s);
         return json();
       }}},
      {"endpoint.del", {{"vrf", "mac"}, [](AgentState& st, const Request& r) {
         st.del_endpoint(r.str("vrf"), r.mac("mac"));
         return json();
       }}},
      {"route.add", {{"vrf", "prefix", "nexthop", "interface", "remote", "encap", "label", "mac"},
                     [](AgentState& st, const Request& r) {
                       st.add_route(r.str("vrf"), r.prefix(r.str("prefix"), "prefix"), nexthop_spec(r));
                       return json();
                     }}},
      {"route.del", {{"vrf", "prefix"}, [](AgentState& st, const Request& r) {
         st.del_route(r.str("vrf"), r.prefix(r.str("prefix"), "prefix"));
         return json();
       }}},
      {"route.list", {{"vrf"}, [](AgentState& st, const Request& r) {
         // Read back from the kernel's FIB, annotated with what the agent knows of each entry.
         std::optional<uint32_t> only;
         std::map<uint32_t, std::string> names;
         for (auto& [n, v] : st.vrfs()) names[v.id] = n;
         if (r.find("vrf")) {
           auto it = st.vrfs().find(r.str("vrf"));
           if (it == st.vrfs().end()) throw AgentError(fmt::format("no VRF named '{}'", r.str("vrf")));
           only = it->second.id;
         }
         json out = json::array();
         for (auto& e : st.datapath().routes()) {
           if (only && e.vrf != *only) continue;
           json j = fwd_json(st, e.fwd);
           j["vrf"] = names.count(e.vrf) ? names[e.vrf] : std::to_string(e.vrf);
           j["prefix"] = e.prefix.str();
           auto owner = st.routes().find({e.vrf, e.prefix});
           j["owner"] = owner != st.routes().end() ? owner->second.owner : "?";
           out.push_back(j);
         }
         return out;
       }}},
      {"l2.list", {{"vrf"}, [](AgentState& st, const Request& r) {
         json out = json::array();
         for (auto& [key, route] : st.l2()) {
           std::string vrf;
           for (auto& [n, v] : st.vrfs())
             if (v.id == key.first) vrf = n;
           if (r.find("vrf") && vrf != r.str("vrf")) continue;
           json j = fwd_json(st, route.fwd);
           j["vrf"] = vrf;
           j["mac"] = mac_str(key.second);
           j["owner"] = route.owner;
           out.push_back(j);
         }
         return out;
       }}},
      {"tunnel.list", {{}, [](AgentState& st, const Request&) {
         json out = json::array();
         for (auto& [key, t] : st.tunnels())
           out.push_back({{"remote", ipv4_str(t.remote)}, {"encap", encap_name(t.encap)}, {"nexthop", t.nh_id},
                          {"underlay_mac", mac_str(t.dmac)}, {"users", t.refs}});
         return out;
       }}},
      {"config.apply", {{"snapshot"}, [](AgentState& st, const Request& r) {
         auto* snap = r.find("snapshot");
         if (!snap) throw AgentError("field 'snapshot' is required");
         auto rep = reconcile(st, *snap);
         return json{{"added", rep.added}, {"removed", rep.removed}, {"failed", rep.failed}, {"errors", rep.errors}};
       }}},
      {"policy.apply", {{"policy"}, [](AgentState& st, const Request& r) {
         auto* p = r.find("policy");
         st.set_policy(p ? policy_spec(*p) : PolicySpec{});
         return json{{"epgs", st.policy().epgs.size()}, {"rules", st.policy().rules.size()}};
       }}},
      {"policy.show", {{}, [](AgentState& st, const Request&) {
         const PolicySpec& p = st.policy();
         std::string under = "all";
         if (p.interfaces) under = fmt::format("{}", fmt::join(*p.interfaces, " "));
         return json{{"generation", st.policy_generation()}, {"endpoint_groups", p.epgs.size()},
                     {"rules", p.rules.size()}, {"mirroring_rules", p.analyzers.size()},
                     {"interfaces_under_policy", st.policy_enabled() ? under : "none"}};
       }}},
      {"flow.list", {{"vrf", "address", "action", "limit"}, [](AgentState& st, const Request& r) {
         std::string action = r.str_or("action", "");
         if (!action.empty() && action != "pass" && action != "deny" && action != "mirror")
           throw AgentError(fmt::format("field 'action': '{}' is not pass, deny or mirror", action));
         return flows_json(st, r.str_or("vrf", ""), r.str_or("address", ""), action, r.opt_u32("limit").value_or(1000));
       }}},
      {"guard.show", {{}, [](AgentState& st, const Request&) {
         auto n = st.datapath().guard_counts();  // read back from the kernel: leaks show here
         return json{{"addresses", n.addrs}, {"allowed_pairs", n.pairs}};
       }}},
      {"counters", {{}, [](AgentState& st, const Request&) {
         json out = json::object();
         auto c = st.datapath().counters();
         for (int i = 0; i < VR_CNT_MAX; ++i) out[Datapath::counter_name(i)] = c[i];
         return out;
       }}},
  };
  return table;
}

}  // namespace

json handle_request(AgentState& state, const std::string& line) {
  try {
    if (line.size() > kMaxRequestBytes) throw AgentError("request too large");
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) throw AgentError("request is not valid JSON");
    if (!j.is_object()) throw AgentError("request must be a JSON object");
    Request r{j};
    std::string name = r.str("op");
    auto it = ops().find(name);
    if (it == ops().end()) {
      std::string known;
      for (auto& [n, op] : ops()) known += " " + n;
      throw AgentError(fmt::format("unknown op '{}'; known:{}", name, known));
    }
    for (auto& [field, value] : j.items())
      if (field != "op" && !it->second.fields.count(field))
        throw AgentError(fmt::format("unknown field '{}' for op '{}'", field, name));
    return {{"ok", true}, {"result", it->second.run(state, r)}};
  } catch (const std::exception& e) {
    return {{"ok", false}, {"error", e.what()}};
  }
}

LocalApiServer::LocalApiServer(AgentState& state, std::mutex& state_mu, std::string path)
    : state_(state), path_(std::move(path)), state_mu_(state_mu) {}

LocalApiServer::~LocalApiServer() { stop(); }

void LocalApiServer::start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path_);
  std::copy(path_.begin(), path_.end(), addr.sun_path);
  unlink(path_.c_str());
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      listen(listen_fd_, 16) < 0)
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", path_, strerror(errno)));
  running_ = true;
  acceptor_ = std::thread([this] {
    while (running_) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (!running_) break;
        continue;
      }
      std::lock_guard lk(conns_mu_);
      conn_fds_.push_back(fd);
      conns_.emplace_back([this, fd] { serve(fd); });
    }
  });
  spdlog::info("local API on {}", path_);
}

void LocalApiServer::stop() {
  if (!running_.exchange(false)) return;
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  acceptor_.join();
  {
    std::lock_guard lk(conns_mu_);
    for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : conns_) t.join();
  unlink(path_.c_str());
}

void LocalApiServer::serve(int fd) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      json reply;
      {
        std::lock_guard lk(state_mu_);
        reply = handle_request(state_, line);
      }
      std::string out = reply.dump() + "\n";
      if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
    }
    if (buf.size() > kMaxRequestBytes) {
      std::string out = json{{"ok", false}, {"error", "request too large"}}.dump() + "\n";
      (void)!write(fd, out.data(), out.size());
      break;
    }
  }
  std::lock_guard lk(conns_mu_);
  std::erase(conn_fds_, fd);  // before close, so stop() never shuts down a reused descriptor
  close(fd);
}

}  // namespace vrfabric
