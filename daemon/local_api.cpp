#include "local_api.h"
#include "host_config.h"
#include "local_socket.h"
#include "request.h"

#include <spdlog/spdlog.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>
#include <set>

namespace vrfabric {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

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
    json j = parse_request_line(line);
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

struct LocalApiServer::Connection {
  uint64_t serial = 0;
  std::string in, out;
  size_t scanned = 0;     // bytes of `in` known to hold no newline (a long line is searched once)
  bool busy = false;      // a worker holds its request: nothing more is read meanwhile
  bool eof = false;       // the client has sent everything it will send
  bool draining = false;  // refused an oversize line: discard what it still sends, then close
  Clock::time_point last_activity, drain_until;
  uint32_t events = 0;    // epoll interest now registered; 0: not in the epoll set (a hung-up
                          // peer would be reported on every wait while a worker holds it)
};

namespace {

std::string error_line(const std::string& why) { return json{{"ok", false}, {"error", why}}.dump() + "\n"; }

// A refused client is told so and not kept a moment longer: no read, no buffer.
void refuse(int fd, const std::string& why) {
  std::string out = error_line(why);
  (void)!send(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  close(fd);
}

constexpr auto kDrainTime = std::chrono::seconds(5);
constexpr int kBacklog = 128;

}  // namespace

LocalApiServer::LocalApiServer(AgentState& state, std::mutex& state_mu, LocalApiOptions opt)
    : state_(state), state_mu_(state_mu), opt_(std::move(opt)) {}

LocalApiServer::~LocalApiServer() { stop(); }

void LocalApiServer::start() {
  listen_fd_ = opt_.listen_fd >= 0 ? opt_.listen_fd : listen_local_socket({opt_.path, opt_.socket_group}, kBacklog);
  struct stat st{};
  if (lstat(opt_.path.c_str(), &st) == 0) socket_inode_ = st.st_ino;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error(fmt::format("local API: {}", strerror(errno)));
  for (int fd : {listen_fd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  running_ = true;
  for (size_t i = 0; i < std::max<size_t>(1, opt_.workers); ++i) workers_.emplace_back([this] { run_worker(); });
  loop_ = std::thread([this] { run_loop(); });
  spdlog::info("local API on {} (mode {}, at most {} connections)", opt_.path,
               opt_.socket_group ? "0660 group " + *opt_.socket_group : std::string("0600"), opt_.max_connections);
}

void LocalApiServer::stop() {
  if (!running_.exchange(false)) return;
  wake();
  queue_cv_.notify_all();
  loop_.join();
  for (auto& t : workers_) t.join();
  workers_.clear();
  close(listen_fd_);
  close(epoll_fd_);
  close(wake_fd_);
  struct stat st{};
  if (lstat(opt_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == socket_inode_) unlink(opt_.path.c_str());
}

void LocalApiServer::wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void LocalApiServer::run_worker() {
  for (;;) {
    std::tuple<int, uint64_t, std::string> job;
    {
      std::unique_lock lk(queue_mu_);
      queue_cv_.wait(lk, [this] { return !jobs_.empty() || !running_; });
      if (!running_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    json reply;
    {
      std::lock_guard lk(state_mu_);
      reply = handle_request(state_, std::get<2>(job));
    }
    // Replies quote names from requests and the kernel: never let a stray byte throw here.
    std::string out = reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    {
      std::lock_guard lk(queue_mu_);
      done_.push_back({std::get<0>(job), std::get<1>(job), std::move(out)});
    }
    wake();
  }
}

void LocalApiServer::run_loop() {
  std::map<int, Connection> conns;
  uint64_t next_serial = 1;
  const size_t max_line = kMaxRequestBytes;

  auto drop = [&](int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
    open_connections_ = conns.size();
  };
  // Moves one connection as far as it can go without blocking; false: close it.
  auto progress = [&](int fd, Connection& c) {
    while (!c.out.empty()) {
      ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        return false;
      }
      c.out.erase(0, static_cast<size_t>(n));
      c.last_activity = Clock::now();
    }
    if (c.draining) {
      if (c.out.empty() && !c.eof) shutdown(fd, SHUT_WR);
      if (c.eof || Clock::now() > c.drain_until) return false;
    } else if (!c.busy && c.out.empty()) {
      size_t nl = c.in.find('\n', c.scanned);
      if (nl != std::string::npos) {
        std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        c.scanned = 0;
        if (c.in.empty() && c.in.capacity() > (1u << 20)) std::string().swap(c.in);  // a big line's buffer goes
        c.busy = true;
        {
          std::lock_guard lk(queue_mu_);
          jobs_.emplace_back(fd, c.serial, std::move(line));
        }
        queue_cv_.notify_one();
      } else if ((c.scanned = c.in.size()) > max_line) {
        c.out = error_line(fmt::format("request too large: a request line may have at most {} bytes", max_line));
        std::string().swap(c.in);
        c.draining = true;
        c.drain_until = Clock::now() + kDrainTime;
        return true;  // the caller comes back to write it
      } else if (c.eof) {
        return false;
      }
    }
    uint32_t want = (c.busy || (c.eof && !c.draining) ? 0u : uint32_t(EPOLLIN)) | (c.out.empty() ? 0u : uint32_t(EPOLLOUT));
    if (want != c.events) {
      epoll_event ev{};
      ev.events = want | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd_, want == 0 ? EPOLL_CTL_DEL : c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
      c.events = want;
    }
    return true;
  };
  auto advance = [&](int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    // Twice: an oversize line queues its error first, then writes it.
    if (!progress(fd, it->second) || !progress(fd, it->second)) drop(fd);
  };

  epoll_event evs[64];
  char chunk[65536];
  auto last_sweep = Clock::now();
  while (running_) {
    int n = epoll_wait(epoll_fd_, evs, 64, 1000);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == listen_fd_) {
        for (;;) {
          int cfd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (cfd < 0) break;
          if (conns.size() >= opt_.max_connections) {
            spdlog::warn("local API: connection refused, {} connections open (limit)", conns.size());
            refuse(cfd, fmt::format("too many connections to the agent's local API (limit {}); retry later",
                                    opt_.max_connections));
            continue;
          }
          Connection& c = conns[cfd];
          c.serial = next_serial++;
          c.last_activity = Clock::now();
          c.events = EPOLLIN;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = cfd;
          epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, cfd, &ev);
          open_connections_ = conns.size();
        }
      } else if (fd == wake_fd_) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof v);
        std::vector<Done> done;
        {
          std::lock_guard lk(queue_mu_);
          done.swap(done_);
        }
        for (auto& d : done) {
          auto it = conns.find(d.fd);
          if (it == conns.end() || it->second.serial != d.serial) continue;  // closed meanwhile
          it->second.busy = false;
          it->second.out += d.reply;
          advance(d.fd);
        }
      } else {
        auto it = conns.find(fd);
        if (it == conns.end()) continue;
        Connection& c = it->second;
        if (evs[i].events & EPOLLERR) {
          drop(fd);
          continue;
        }
        if ((evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !c.busy) {
          for (;;) {
            ssize_t r = read(fd, chunk, sizeof chunk);
            if (r > 0) {
              c.last_activity = Clock::now();
              if (!c.draining) c.in.append(chunk, static_cast<size_t>(r));
              if (c.in.size() > max_line + 1) break;  // already too long, newline or not: stop buffering
              continue;
            }
            if (r == 0) c.eof = true;
            break;
          }
        }
        advance(fd);
      }
    }
    // Idle connections are closed; one a worker holds is not idle.
    auto now = Clock::now();
    if (now - last_sweep >= std::chrono::seconds(1)) {
      last_sweep = now;
      std::vector<int> idle;
      for (auto& [fd, c] : conns)
        if (!c.busy && (now - c.last_activity > std::chrono::milliseconds(opt_.idle_timeout_ms) ||
                        (c.draining && now > c.drain_until)))
          idle.push_back(fd);
      for (int fd : idle) drop(fd);
    }
  }
  for (auto& [fd, c] : conns) close(fd);
  open_connections_ = 0;
}

}  // namespace vrfabric
