#include "controller/southbound.h"

#include "controller/http_connections.h"
#include "controller/http_worker_pool.h"
#include "controller/list_all.h"
#include "controller/policy_scope.h"
#include "controller/tap_name.h"

#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <set>

#include "controller/errors.h"
#include "controller/ipaddr.h"
#include "vrfabric/bgp/speaker.h"

namespace vrf {

namespace {

// A port's allowed address pairs as the agent reads them: [{"prefix": "a/len", "mac"}].
json allowed_pairs_of(const json& vmi) {
  json out = json::array();
  for (auto& p : vmi.value("virtual_machine_interface_allowed_address_pairs", json::array())) {
    const json& ip = p["ip"];
    json pair = {{"prefix", ip.value("ip_prefix", "") + "/" + std::to_string(ip.value("ip_prefix_len", 0))}};
    if (p.contains("mac")) pair["mac"] = p["mac"];
    out.push_back(pair);
  }
  return out;
}

namespace bgp = vrfabric::bgp;

std::string ref_uuid(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_array() || it->empty()) return "";
  return (*it)[0].value("uuid", "");
}

std::string fq_string(const json& obj) {
  std::string s;
  for (auto& part : obj.at("fq_name")) s += (s.empty() ? "" : ":") + part.get<std::string>();
  return s;
}

// The first entry of the global encapsulation priority list, as the agent names it.
std::string encapsulation(ConfigService& svc, const Principal& who) {
  for (auto& g : list_all(svc, "global-system-config", who))
    for (auto& e : g.value("encapsulation_priorities", json::array())) {
      std::string s = e.get<std::string>();
      if (s == "MPLSoUDP") return "mplsudp";
      if (s == "MPLSoGRE") return "mplsgre";
      if (s == "VXLAN") return "vxlan";
    }
  return "mplsudp";
}

// Host-side interface names have 15 characters at most; UUIDv7 keys start with a
// timestamp, so the random tail is what tells ports apart.
// The first route target of a network, in the "AS:value" form agents match EVPN routes by.
std::string route_target(const json& vn) {
  for (auto& t : vn.value("route_target_list", json::array())) {
    std::string rt = t.get<std::string>();
    return rt.rfind("target:", 0) == 0 ? rt.substr(7) : rt;
  }
  return "";
}

struct Subnet {
  Cidr cidr;
  std::string gateway, dns;
};

// The caller of an agent route acting for `host` (nullopt: a fabric-wide route): the
// global admin, or that host's own agent token. A host's snapshot is built from the whole
// fabric's config (other hosts' ports, every network it imports), so inside these handlers
// an agent token reads as the fabric does; it never reaches any other route.
Principal require_agent(ConfigService& svc, const httplib::Request& req, const std::optional<std::string>& host) {
  auto h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) != 0) throw ApiError(401, "missing bearer token");
  Principal who = svc.authenticate(h.substr(7));
  if (who.global_admin()) return who;
  auto own = who.agent_host();
  if (!own) throw ApiError(403, "agents must use their host's agent token or the global admin token");
  if (!host) throw ApiError(403, "an agent token may not use this route (global admin only)");
  if (*own != *host) throw ApiError(403, "this agent token is for host '" + *own + "', not '" + *host + "'");
  return Principal{who.token_id, std::nullopt, "admin"};
}

void reply_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(json{{"error", {{"status", e.status}, {"message", e.what()}}}}.dump(), "application/json");
}

}  // namespace

Southbound::Southbound(ConfigService& svc, SouthboundSettings s) : svc_(svc), cfg_(std::move(s)), policy_(svc) {}

Southbound::~Southbound() { stop(); }

json Southbound::snapshot(const std::string& host, const Principal& who) {
  int64_t revision = svc_.revision();
  json vrfs = json::array(), interfaces = json::array();
  std::vector<json> vmis;
  std::map<std::string, std::string> host_of;  // every port's veth name -> its host
  for (auto& v : list_all(svc_, "virtual-machine-interface", who)) {
    host_of[tap_name(v.value("uuid", ""))] = v.value("host_id", "");
    if (v.value("host_id", "") == host) vmis.push_back(std::move(v));
  }
  if (vmis.empty()) return {{"revision", revision}, {"vrfs", vrfs}, {"interfaces", interfaces}};
  json policy = policy_.compiled();

  std::map<std::string, std::vector<std::string>> addresses;  // vmi uuid -> instance IPs
  for (auto& iip : list_all(svc_, "instance-ip", who))
    for (auto& r : iip.value("virtual_machine_interface_refs", json::array()))
      if (iip.contains("instance_ip_address")) addresses[r.value("uuid", "")].push_back(iip["instance_ip_address"]);
  std::string encap = encapsulation(svc_, who);

  // Networks a policy connects are routed into each other: their route targets are imported.
  std::map<std::string, std::string> rt_by_network;
  auto imports_of = [&](const std::string& network) {
    json out = json::array();
    if (!policy.is_object() || !policy.contains("connections") || !policy["connections"].contains(network)) return out;
    if (rt_by_network.empty())
      for (auto& vn : list_all(svc_, "virtual-network", who)) rt_by_network[fq_string(vn)] = route_target(vn);
    for (auto& peer : policy["connections"][network])
      if (auto rt = rt_by_network[peer.get<std::string>()]; !rt.empty()) out.push_back(rt);
    return out;
  };
  const auto* vn_type = schema::Schema::get().find("virtual-network");
  std::map<std::string, std::pair<std::string, std::vector<Subnet>>> networks;  // uuid -> (vrf, subnets)
  for (auto& vmi : vmis) {
    std::string vn_uuid = ref_uuid(vmi, "virtual_network_refs");
    if (networks.count(vn_uuid)) continue;
    json vn = svc_.read(*vn_type, vn_uuid, who, false)[vn_type->name];
    std::vector<Subnet> subnets;
    json gateways = json::array();
    for (auto& ref : vn.value("network_ipam_refs", json::array()))
      for (auto& s : ref.value("attr", json::object()).value("ipam_subnets", json::array())) {
        auto cidr = parse_cidr(s.value("subnet", ""));
        if (!cidr) continue;
        Subnet sn{*cidr, s.value("default_gateway", ""), s.value("dns_server_address", "")};
        if (!sn.gateway.empty()) gateways.push_back(sn.gateway);
        subnets.push_back(sn);
      }
    std::string name = fq_string(vn);
    json v = {{"name", name}, {"route_target", route_target(vn)}, {"encap", encap}, {"gateways", gateways}};
    v["imports"] = imports_of(name);
    if (vn.contains("vni")) v["vni"] = vn["vni"];
    vrfs.push_back(v);
    networks[vn_uuid] = {name, subnets};
  }

  for (auto& vmi : vmis) {
    auto& [vrf, subnets] = networks[ref_uuid(vmi, "virtual_network_refs")];
    std::string uuid = vmi["uuid"];
    // No namespace: the host's runtime attaches the port's uuid to its workload.
    json ifc = {{"name", tap_name(uuid)}, {"uuid", uuid}, {"vrf", vrf}, {"mac", vmi.value("mac_address", "")},
                {"ips", addresses[uuid]}, {"allowed_pairs", allowed_pairs_of(vmi)}};
    for (auto& a : addresses[uuid]) {
      auto ip = parse_ip(a);
      for (auto& sn : subnets)
        if (ip && !ip->v6 && sn.cidr.contains(*ip) && !sn.gateway.empty() && !ifc.contains("dhcp")) {
          ifc["dhcp"] = {{"address", a + "/" + std::to_string(sn.cidr.len)}, {"gateway", sn.gateway}};
          if (!sn.dns.empty()) ifc["dhcp"]["dns"] = json::array({sn.dns});
        }
    }
    interfaces.push_back(ifc);
  }
  std::set<std::string> vrf_names, ports;
  for (auto& v : vrfs) vrf_names.insert(v["name"].get<std::string>());
  for (auto& i : interfaces) ports.insert(i["name"].get<std::string>());
  json host_policy = policy_for_host(policy, vrf_names, ports);
  if (host_policy.is_object() && !host_policy.value("analyzers", json::object()).empty()) {
    // Copies for an analyzer on another host go to that host's agent.
    json where = json::object();
    std::lock_guard lk(mu_);
    for (auto& [id, tap] : host_policy["analyzers"].items()) {
      auto h = host_of.find(tap.get<std::string>());
      if (h == host_of.end() || h->second == host) continue;
      if (auto a = agents_.find(h->second); a != agents_.end()) where[tap.get<std::string>()] = a->second;
    }
    host_policy["analyzer_hosts"] = where;
  }
  return {{"revision", revision}, {"vrfs", vrfs}, {"interfaces", interfaces}, {"policy", host_policy}};
}

json Southbound::register_agent(const json& body, const Principal& who) {
  if (!body.is_object() || !body.contains("host") || !body["host"].is_string() || body["host"].get<std::string>().empty())
    throw ApiError(400, "field 'host' must be a non-empty string");
  if (!body.contains("fabric_ip") || !body["fabric_ip"].is_string() ||
      !bgp::IpAddress::parse(body["fabric_ip"].get<std::string>()))
    throw ApiError(400, "field 'fabric_ip' must be an IP address");
  std::string host = body["host"], ip = body["fabric_ip"];
  std::lock_guard lk(mu_);
  auto [it, fresh] = agents_.try_emplace(host, ip);
  if (speaker_ && (fresh || it->second != ip)) {
    bgp::PeerConfig peer;
    peer.address = *bgp::IpAddress::parse(ip);
    peer.remoteAs = cfg_.asn;
    peer.passive = true;
    peer.routeReflectorClient = true;
    peer.families = {bgp::Family::Evpn, bgp::Family::RtConstraint};
    speaker_->addPeer(peer);
  }
  it->second = ip;
  spdlog::info("agent {} registered from {}", host, ip);
  json out = {{"host", host}};
  if (speaker_) out["bgp"] = {{"address", cfg_.bgp_listen}, {"asn", cfg_.asn}};
  return out;
}

void Southbound::watch(const std::string& host, const Principal& who, httplib::Response& res) {
  WorkerPool::detach_current();  // a stream for the agent's life: its thread leaves the request slots
  auto last = std::make_shared<std::string>();
  auto cursor = std::make_shared<int64_t>(-1);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, host, who, last, cursor](size_t, httplib::DataSink& sink) {
        try {
          return stream_step(host, who, *last, *cursor, sink);
        } catch (const std::exception& e) {
          spdlog::error("config stream for {}: {}", host, e.what());
          return false;  // closes the stream; the agent reconnects and gets a fresh snapshot
        }
      });
}

bool Southbound::stream_step(const std::string& host, const Principal& who, std::string& last, int64_t& cursor,
                             httplib::DataSink& sink) {
  if (cursor >= 0 && !svc_.wait_for_change(cursor, std::chrono::seconds(10))) {
    sink.done();  // the controller is stopping
    return true;
  }
  if (cursor >= 0 && svc_.revision() > cursor)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let a burst of changes settle
  cursor = svc_.revision();
  json snap = snapshot(host, who);
  json body = snap;
  body.erase("revision");
  std::string key = body.dump(), out;
  if (key != last) {
    last = key;
    out = "id: " + std::to_string(snap["revision"].get<int64_t>()) + "\nevent: config\ndata: " + snap.dump() + "\n\n";
  } else {
    out = ": keepalive\n\n";  // unchanged for this host; lets a dead agent be noticed
  }
  return sink.write(out.data(), out.size());
}

void Southbound::install(httplib::Server& srv) {
  // scope(req): the host the request acts for, nullopt for the fabric-wide routes.
  auto guarded = [this](auto scope, auto fn) {
    return [this, scope, fn](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res, require_agent(svc_, req, scope(req)));
      } catch (const ApiError& e) {
        reply_error(res, e);
      } catch (const std::exception& e) {
        reply_error(res, ApiError(500, e.what()));
      }
    };
  };
  auto fabric_wide = [](const httplib::Request&) { return std::optional<std::string>(); };
  auto path_host = [](const httplib::Request& req) { return std::optional<std::string>(req.matches[1]); };
  auto body_host = [](const httplib::Request& req) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) throw ApiError(400, "body is not valid JSON");
    if (!body.is_object() || !body.contains("host") || !body["host"].is_string())
      throw ApiError(400, "field 'host' must be a non-empty string");
    return std::optional<std::string>(body["host"].get<std::string>());
  };
  srv.Post("/agents/register", guarded(body_host, [this](auto& req, auto& res, const Principal& who) {
             json body = json::parse(req.body, nullptr, false);
             res.set_content(register_agent(body, who).dump(), "application/json");
           }));
  srv.Get("/agents", guarded(fabric_wide, [this](auto&, auto& res, const Principal&) {
            json out = json::array();
            std::lock_guard lk(mu_);
            for (auto& [h, ip] : agents_) out.push_back({{"host", h}, {"fabric_ip", ip}});
            res.set_content(json{{"agents", out}}.dump(), "application/json");
          }));
  srv.Get(R"(/agents/([^/]+)/config)", guarded(path_host, [this](auto& req, auto& res, const Principal& who) {
            res.set_content(snapshot(req.matches[1], who).dump(), "application/json");
          }));
  srv.Get(R"(/agents/([^/]+)/watch)", guarded(path_host, [this](auto& req, auto& res, const Principal& who) {
            watch(req.matches[1], who, res);
          }));
  // Tenants' view of their own policy objects' problems (GET /policy-status).
  srv.Get("/policy-status", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      auto h = req.get_header_value("Authorization");
      if (h.rfind("Bearer ", 0) != 0) throw ApiError(401, "missing bearer token");
      Principal who = svc_.authenticate(h.substr(7));
      if (who.agent_host()) throw agent_token_forbidden();
      res.set_content(policy_.problems(who).dump(), "application/json");
    } catch (const ApiError& e) {
      reply_error(res, e);
    }
  });
  srv.Get("/agents/bgp", guarded(fabric_wide, [this](auto&, auto& res, const Principal&) {
            res.set_content((speaker_ ? speaker_->neighbors() : json::array()).dump(), "application/json");
          }));
}

void Southbound::start() {
  if (cfg_.listen.empty() && cfg_.bgp_listen.empty()) return;
  std::promise<void> ready;
  auto started = ready.get_future();
  fabric_thread_ = std::thread([this, &ready] {
    try {
      // Threads started from here (the BGP loop, HTTP workers) inherit the namespace.
      if (!cfg_.netns.empty()) {
        int fd = open(("/run/netns/" + cfg_.netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
          throw std::runtime_error("cannot enter network namespace " + cfg_.netns);
        close(fd);
      }
      if (!cfg_.bgp_listen.empty()) {
        auto colon = cfg_.bgp_listen.rfind(':');
        auto addr = bgp::IpAddress::parse(cfg_.bgp_listen.substr(0, colon));
        if (!addr || addr->v6) throw std::runtime_error("--bgp-listen wants an IPv4 ADDRESS[:PORT]");
        bgp::SpeakerConfig sc;
        sc.localAs = cfg_.asn;
        sc.routerId = addr->v4Value();
        sc.listenAddress = *addr;
        if (colon != std::string::npos) sc.listenPort = static_cast<uint16_t>(std::stoi(cfg_.bgp_listen.substr(colon + 1)));
        sc.holdTime = 30;
        speaker_ = std::make_unique<bgp::Speaker>(sc);
        speaker_->start();
        spdlog::info("route reflector on {} (AS {})", cfg_.bgp_listen, cfg_.asn);
      }
      if (!cfg_.listen.empty()) {
        auto colon = cfg_.listen.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("--agent-listen wants HOST:PORT");
        // The same connection handling as the REST API's: slow or idle peers on the
        // fabric hold no thread, and agents' config streams leave the request slots.
        ConnectionSettings cs;
        cs.tls = cfg_.tls;
        cs.tls_handshake_timeout = cfg_.tls_handshake_timeout;
        fabric_srv_ = std::make_unique<ConnectionServer>(cs);
        install(*fabric_srv_);
        if (!fabric_srv_->bind_to_port(cfg_.listen.substr(0, colon).c_str(), std::stoi(cfg_.listen.substr(colon + 1))))
          throw std::runtime_error("cannot listen on " + cfg_.listen);
        spdlog::info("agent API on {}{}", cfg_.listen, cfg_.netns.empty() ? "" : " in namespace " + cfg_.netns);
      }
      ready.set_value();
      if (fabric_srv_) fabric_srv_->listen_after_bind();
    } catch (...) {
      ready.set_exception(std::current_exception());
    }
  });
  try {
    started.get();
  } catch (...) {
    fabric_thread_.join();
    throw;
  }
}

void Southbound::stop() {
  if (fabric_srv_) fabric_srv_->stop();
  if (fabric_thread_.joinable()) fabric_thread_.join();
  if (speaker_) speaker_->stop();
  speaker_.reset();
}

}  // namespace vrf
