// vr-agent: the node agent. Loads the forwarder, attaches it to the fabric interface, and
// serves the local API through which VRFs, interfaces, endpoints and routes are configured.
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent_state.h"
#include "datapath.h"
#include "controller_sync.h"
#include "evpn_agent.h"
#include "flow_aging.h"
#include "mirror_relay.h"
#include "local_api.h"
#include "local_socket.h"

using namespace vrfabric;

namespace {

const char* kUsage = R"(usage: vr-agent --fabric IFNAME [options]
  --fabric IFNAME        underlay interface (in the agent's network namespace)
  --fabric-ip A.B.C.D    underlay address (default: the interface's first IPv4)
  --socket PATH          local API socket (default /run/vrfabric/agent.sock), created 0600
  --socket-group NAME    make the socket 0660 and owned by group NAME (its members may configure the agent)
  --api-idle-timeout-ms N  close a local-API connection idle this long (default 60000)
  --port-bindings FILE   where the runtime's port attachments are kept (default SOCKET.ports)
  --router-mac MAC       distributed gateway MAC (default 00:00:5e:00:01:00)
  --encap NAME           default encapsulation: mplsudp, mplsgre or vxlan (default mplsudp)
  --metrics HOST:PORT    serve Prometheus /metrics there (default: off)
  --controller-bgp ADDR[:PORT]  BGP EVPN session with the controller (route reflector)
  --asn N                AS number shared with the controller (default 64512)
  --controller URL       follow this host's config from the controller (http:// or https://HOST:PORT)
  --controller-ca FILE   https: verify the controller against this CA (default: the system's CAs)
  --token-file PATH      bearer token for the controller
  --host NAME            this host's name in the controller (default: the fabric address)
  --config FILE          YAML file with the same keys (fabric, fabric-ip, socket, ...)
  --log-level LEVEL      trace, debug, info, warn, error (default info)
  --help
)";

struct Options {
  std::map<std::string, std::string> values{{"socket", "/run/vrfabric/agent.sock"}, {"log-level", "info"}};
};

Options parse_args(int argc, char** argv) {
  Options o;
  static const std::set<std::string> known = {"fabric", "fabric-ip", "socket", "router-mac", "encap", "metrics",
                                              "config", "log-level", "controller-bgp", "asn", "controller",
                                              "token-file", "host", "port-bindings", "controller-ca", "socket-group",
                                              "api-idle-timeout-ms"};
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a.rfind("--", 0) != 0 || !known.count(a.substr(2)))
      throw std::invalid_argument(fmt::format("unknown argument '{}'", a));
    if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", a));
    flags[a.substr(2)] = argv[++i];
  }
  if (flags.count("config")) {
    YAML::Node doc = YAML::LoadFile(flags["config"]);
    if (!doc.IsMap()) throw std::invalid_argument(fmt::format("{}: expected a mapping of options", flags["config"]));
    for (auto kv : doc) {
      auto key = kv.first.as<std::string>();
      if (!known.count(key) || key == "config")
        throw std::invalid_argument(fmt::format("{}: unknown key '{}'", flags["config"], key));
      o.values[key] = kv.second.as<std::string>();
    }
  }
  for (auto& [k, v] : flags) o.values[k] = v;  // flags win over the file
  if (!o.values.count("fabric")) throw std::invalid_argument("--fabric is required");
  if (o.values.count("controller-ca")) {
    if (o.values["controller"].rfind("https://", 0) != 0)
      throw std::invalid_argument("--controller-ca needs an https:// --controller URL");
    if (std::ifstream(o.values["controller-ca"]).fail())
      throw std::invalid_argument("cannot read --controller-ca " + o.values["controller-ca"]);
  }
  return o;
}

std::string metrics_text(Datapath& dp) {
  std::string out = "# HELP vrfabric_forwarder_packets_total Packets by forwarder counter.\n"
                    "# TYPE vrfabric_forwarder_packets_total counter\n";
  auto c = dp.counters();
  for (int i = 0; i < VR_CNT_MAX; ++i)
    out += fmt::format("vrfabric_forwarder_packets_total{{counter=\"{}\"}} {}\n", Datapath::counter_name(i), c[i]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vr-agent: %s\n%s", e.what(), kUsage);
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(opt.values["log-level"]));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l vr-agent %v");

  // Signals are taken synchronously by sigwait below; threads inherit the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  try {
    AgentConfig cfg;
    cfg.fabric_ifname = opt.values["fabric"];
    if (opt.values.count("fabric-ip")) cfg.fabric_ip = parse_ipv4(opt.values["fabric-ip"]);
    if (opt.values.count("router-mac")) cfg.router_mac = parse_mac(opt.values["router-mac"]);
    if (opt.values.count("encap")) cfg.default_encap = parse_encap(opt.values["encap"]);
    cfg.bindings_file = opt.values.count("port-bindings") ? opt.values["port-bindings"] : opt.values["socket"] + ".ports";

    // The socket first: a path in use or not a socket stops the agent before it touches the kernel.
    LocalApiOptions api_opt;
    api_opt.path = opt.values["socket"];
    if (opt.values.count("socket-group")) api_opt.socket_group = opt.values["socket-group"];
    if (opt.values.count("api-idle-timeout-ms")) {
      api_opt.idle_timeout_ms = std::stoi(opt.values["api-idle-timeout-ms"]);
      if (api_opt.idle_timeout_ms <= 0) throw std::invalid_argument("--api-idle-timeout-ms must be positive");
    }
    api_opt.listen_fd = listen_local_socket({api_opt.path, api_opt.socket_group}, 128);

    Datapath dp;
    AgentState state(dp, cfg);
    std::mutex state_mu;
    std::unique_ptr<EvpnAgent> evpn;
    if (opt.values.count("controller-bgp")) {
      EvpnConfig ec;
      auto hp = opt.values["controller-bgp"];
      auto colon = hp.find(':');
      ec.controller = hp.substr(0, colon);
      if (colon != std::string::npos) ec.port = static_cast<uint16_t>(std::stoi(hp.substr(colon + 1)));
      if (opt.values.count("asn")) ec.asn = static_cast<uint32_t>(std::stoul(opt.values["asn"]));
      evpn = std::make_unique<EvpnAgent>(state, state_mu, ec);
      state.set_observer(evpn.get());
    }
    FlowAger ager(dp, state_mu);
    MirrorRelay mirror(state, state_mu);
    LocalApiServer api(state, state_mu, api_opt);
    api.start();
    std::unique_ptr<ControllerSync> sync;
    if (opt.values.count("controller")) {
      ControllerSyncConfig sc;
      sc.url = opt.values["controller"];
      if (opt.values.count("controller-ca")) sc.ca_file = opt.values["controller-ca"];
      sc.host = opt.values.count("host") ? opt.values["host"] : ipv4_str(state.config().fabric_ip);
      if (opt.values.count("token-file")) {
        std::ifstream f(opt.values["token-file"]);
        if (!f || !std::getline(f, sc.token)) throw std::invalid_argument("cannot read " + opt.values["token-file"]);
      }
      sync = std::make_unique<ControllerSync>(state, state_mu, sc);
    }

    httplib::Server metrics;
    std::thread metrics_thread;
    if (opt.values.count("metrics")) {
      auto hp = opt.values["metrics"];
      auto colon = hp.rfind(':');
      if (colon == std::string::npos) throw std::invalid_argument("--metrics wants HOST:PORT");
      metrics.Get("/metrics", [&dp](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_text(dp), "text/plain; version=0.0.4");
      });
      if (!metrics.bind_to_port(hp.substr(0, colon).c_str(), std::stoi(hp.substr(colon + 1))))
        throw std::runtime_error("cannot listen on " + hp);
      metrics_thread = std::thread([&] { metrics.listen_after_bind(); });
    }

    spdlog::info("ready");
    int sig = 0;
    sigwait(&sigs, &sig);
    spdlog::info("signal {}: removing everything this agent attached", sig);
    sync.reset();
    api.stop();
    state.set_observer(nullptr);
    evpn.reset();
    if (metrics_thread.joinable()) {
      metrics.stop();
      metrics_thread.join();
    }
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
