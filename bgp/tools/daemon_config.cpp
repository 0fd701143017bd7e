#include "daemon_config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <sstream>
#include <stdexcept>

namespace vrfabric::bgp::daemon {

namespace {

[[noreturn]] void bad(const std::string& why) { throw std::invalid_argument(why); }

IpAddress ipOrThrow(const std::string& s, const char* what) {
  auto a = IpAddress::parse(s);
  if (!a) bad(std::string("invalid ") + what + " \"" + s + "\"");
  return *a;
}

uint32_t numberOrThrow(const std::string& s, const std::string& what, uint64_t max = 0xffffffff) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > max)
    bad(what + ": \"" + s + "\" is not a number in range");
  return uint32_t(v);
}

uint32_t routerIdOrThrow(const std::string& s) {
  auto a = ipOrThrow(s, "router-id");
  if (a.v6) bad("router-id must be an IPv4 address");
  return a.v4Value();
}

std::vector<Family> familiesOrThrow(const std::vector<std::string>& names) {
  std::vector<Family> out;
  for (const auto& n : names) {
    auto f = parseFamily(n);
    if (!f) bad("unknown address family \"" + n + "\" (ipv4, ipv6, evpn, vpnv4, vpnv6, rtc)");
    out.push_back(*f);
  }
  return out;
}

// YAML -> JSON so route descriptions share one parser with the HTTP API.
nlohmann::json toJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: {
      auto a = nlohmann::json::array();
      for (const auto& x : n) a.push_back(toJson(x));
      return a;
    }
    case YAML::NodeType::Map: {
      auto o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = toJson(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      std::string s = n.as<std::string>();
      if (s == "true") return true;
      if (s == "false") return false;
      if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 11)
        return std::stoull(s);
      return s;
    }
    default: return nullptr;
  }
}

PeerConfig peerFromYaml(const YAML::Node& n) {
  PeerConfig p;
  if (!n["address"]) bad("peer without address");
  p.address = ipOrThrow(n["address"].as<std::string>(), "peer address");
  if (!n["remote-as"]) bad("peer " + p.address.str() + " without remote-as");
  p.remoteAs = n["remote-as"].as<uint32_t>();
  if (n["port"]) p.port = n["port"].as<uint16_t>();
  if (n["local-address"]) p.localAddress = ipOrThrow(n["local-address"].as<std::string>(), "local-address");
  if (n["passive"]) p.passive = n["passive"].as<bool>();
  if (n["route-reflector-client"]) p.routeReflectorClient = n["route-reflector-client"].as<bool>();
  if (n["next-hop-self"]) p.nextHopSelf = n["next-hop-self"].as<bool>();
  if (n["families"]) p.families = familiesOrThrow(n["families"].as<std::vector<std::string>>());
  return p;
}

// "--peer ADDR,as=N[,passive][,rr-client][,families=evpn+vpnv4][,local=ADDR][,port=N]"
PeerConfig peerFromFlag(const std::string& spec) {
  std::stringstream ss(spec);
  std::string item;
  PeerConfig p;
  bool first = true, haveAs = false;
  while (std::getline(ss, item, ',')) {
    if (first) {
      p.address = ipOrThrow(item, "peer address");
      first = false;
      continue;
    }
    auto eq = item.find('=');
    std::string k = item.substr(0, eq), v = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (k == "as") p.remoteAs = numberOrThrow(v, "peer as"), haveAs = true;
    else if (k == "passive") p.passive = true;
    else if (k == "rr-client") p.routeReflectorClient = true;
    else if (k == "next-hop-self") p.nextHopSelf = true;
    else if (k == "local") p.localAddress = ipOrThrow(v, "local address");
    else if (k == "port") p.port = uint16_t(numberOrThrow(v, "peer port", 65535));
    else if (k == "families") {
      std::vector<std::string> names;
      std::stringstream fs(v);
      std::string f;
      while (std::getline(fs, f, '+')) names.push_back(f);
      p.families = familiesOrThrow(names);
    } else bad("unknown peer option \"" + k + "\"");
  }
  if (!haveAs) bad("--peer " + spec + ": missing as=N");
  return p;
}

void loadYaml(const std::string& path, DaemonConfig& c) {
  YAML::Node y;
  try {
    y = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    bad("cannot read config " + path + ": " + e.what());
  }
  try {
    if (y["local-as"]) c.speaker.localAs = y["local-as"].as<uint32_t>();
    if (y["router-id"]) c.speaker.routerId = routerIdOrThrow(y["router-id"].as<std::string>());
    if (y["cluster-id"]) c.speaker.clusterId = routerIdOrThrow(y["cluster-id"].as<std::string>());
    if (y["hold-time"]) c.speaker.holdTime = y["hold-time"].as<uint16_t>();
    if (y["connect-retry"]) c.speaker.connectRetrySeconds = y["connect-retry"].as<uint16_t>();
    if (y["graceful-restart"]) c.speaker.gracefulRestart = y["graceful-restart"].as<bool>();
    if (y["restart-time"]) c.speaker.restartTime = y["restart-time"].as<uint16_t>();
    if (y["multipath"]) c.speaker.bestPath.multipath = y["multipath"].as<bool>();
    if (auto l = y["listen"]) {
      if (l["address"]) c.speaker.listenAddress = ipOrThrow(l["address"].as<std::string>(), "listen address");
      if (l["port"]) c.speaker.listenPort = l["port"].as<uint16_t>();
      if (l["enabled"]) c.speaker.listen = l["enabled"].as<bool>();
    }
    if (auto a = y["api"]) {
      if (a["address"]) c.apiAddress = a["address"].as<std::string>();
      if (a["port"]) c.apiPort = a["port"].as<uint16_t>();
      if (a["token-file"]) c.apiTokenFile = a["token-file"].as<std::string>();
    }
    if (y["log-level"]) c.logLevel = y["log-level"].as<std::string>();
    for (const auto& p : y["peers"]) c.peers.push_back(peerFromYaml(p));
    for (const auto& r : y["routes"]) c.routes.push_back(toJson(r));
  } catch (const YAML::Exception& e) {
    bad("config " + path + ": " + e.what());
  }
}

}  // namespace

const char* usage() {
  return R"(vr-bgpd - vrfabric BGP speaker (EVPN, VPN-IPv4/6, RT constraint, route reflection)

usage: vr-bgpd [--config FILE] [options]

  --config FILE        YAML config (local-as, router-id, listen, api, peers, routes)
  --local-as N         local AS number
  --router-id A.B.C.D  BGP identifier
  --cluster-id A.B.C.D route reflector cluster id (default: router id)
  --listen ADDR        listen address (default 0.0.0.0)
  --port N             BGP port (default 179)
  --no-listen          do not accept connections
  --hold-time N        hold time in seconds (default 90)
  --connect-retry N    seconds between connection attempts (default 5)
  --no-graceful-restart
  --peer SPEC          ADDR,as=N[,passive][,rr-client][,next-hop-self][,local=ADDR]
                       [,port=N][,families=evpn+vpnv4+...]  (repeatable)
  --api ADDR:PORT      JSON debug/API endpoint (default 127.0.0.1:50179)
  --api-token-file PATH  bearer token every API request must carry; read from PATH
                       (a regular file only its owner may read), or created there 0600
                       with a random token when absent. Without it the API is off.
  --blast N            originate N EVPN type-2 routes (benchmark feeder)
  --blast-rd RD        RD of blasted routes (default 192.0.2.1:1)
  --blast-next-hop IP  next hop of blasted routes (default 192.0.2.1)
  --log-level LEVEL    trace|debug|info|warn|error (default info)
  --help               this text

HTTP API (also used by vr-bgpctl --token-file PATH), every request with
"Authorization: Bearer TOKEN": GET /neighbors, GET /rib?family=evpn,
GET /summary, GET /metrics, POST /routes (route JSON or list), POST /routes/withdraw,
POST /neighbors/reset?address=A, POST /neighbors/refresh?address=A.
)";
}

DaemonConfig parseConfig(int argc, char** argv, bool* help) {
  DaemonConfig c;
  *help = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  // The config file is read first so flags can override it.
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config") loadYaml(args[i + 1], c);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) bad(a + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") *help = true;
    else if (a == "--config") value();
    else if (a == "--local-as") c.speaker.localAs = numberOrThrow(value(), a);
    else if (a == "--router-id") c.speaker.routerId = routerIdOrThrow(value());
    else if (a == "--cluster-id") c.speaker.clusterId = routerIdOrThrow(value());
    else if (a == "--listen") c.speaker.listenAddress = ipOrThrow(value(), "listen address");
    else if (a == "--port") c.speaker.listenPort = uint16_t(numberOrThrow(value(), a, 65535));
    else if (a == "--no-listen") c.speaker.listen = false;
    else if (a == "--hold-time") c.speaker.holdTime = uint16_t(numberOrThrow(value(), a, 65535));
    else if (a == "--connect-retry") c.speaker.connectRetrySeconds = uint16_t(numberOrThrow(value(), a, 65535));
    else if (a == "--no-graceful-restart") c.speaker.gracefulRestart = false;
    else if (a == "--peer") c.peers.push_back(peerFromFlag(value()));
    else if (a == "--api") {
      std::string v = value();
      auto colon = v.rfind(':');
      if (colon == std::string::npos) bad("--api wants ADDR:PORT");
      c.apiAddress = v.substr(0, colon);
      c.apiPort = uint16_t(numberOrThrow(v.substr(colon + 1), "--api port", 65535));
    } else if (a == "--api-token-file") c.apiTokenFile = value();
    else if (a == "--blast") c.blast = numberOrThrow(value(), a);
    else if (a == "--blast-rd") c.blastRd = value();
    else if (a == "--blast-next-hop") c.blastNextHop = value();
    else if (a == "--log-level") c.logLevel = value();
    else bad("unknown option " + a + " (see --help)");
  }
  if (*help) return c;
  if (c.speaker.localAs == 0) bad("local AS not set (--local-as or local-as:)");
  if (c.speaker.routerId == 0) bad("router id not set (--router-id or router-id:)");
  return c;
}

}  // namespace vrfabric::bgp::daemon
