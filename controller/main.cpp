// vr-controller: the configuration API (REST on port 8082), its SQLite store and IPAM.
#include <httplib.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <iostream>
#include <thread>

#include "controller/http_connections.h"
#include "controller/metrics.h"
#include "controller/rest.h"
#include "controller/secret_file.h"
#include "controller/service.h"
#include "controller/southbound.h"
#include "controller/store.h"

namespace {

using std::chrono::milliseconds;

struct Options {
  std::string listen = "127.0.0.1:8082";
  std::string db = "vr-controller.db";
  std::string admin_token_file, port_file;
  std::string log_level = "info";
  std::string tls_cert, tls_key;
  int64_t asn = 64512;
  int64_t change_log_keep = 1000000;
  vrf::RestLimits rest;
  vrf::ConnectionSettings http;
  vrf::SouthboundSettings south;
};

const char* kUsage = R"(usage: vr-controller [options]
  --listen HOST:PORT         address of the REST API (default 127.0.0.1:8082; port 0 = any free port)
  --db PATH                  SQLite database file (default vr-controller.db; created if absent, mode 0600)
  --config FILE              YAML file with any of the options below, without the leading
                             dashes and with _ for - (max_body_bytes: 1048576); flags win
  --admin-token-file PATH    write the admin token created at first start to PATH (mode 0600;
                             a symlink or another user's file there is refused); without it
                             the token is printed once on stdout
  --port-file PATH           write the port actually listened on to PATH once serving
  --log-level LEVEL          trace|debug|info|warn|error (default info)
  --asn N                    AS number of the default global-system-config (first start only)
  --change-log-keep N        revisions of change history kept for /watch resumption (default
                             1000000; a watcher further behind gets a 'reset' event)
 HTTP limits (see controller/README.md):
  --threads N                requests served at once (default 16); watch streams do not hold these
  --max-stream-threads N     threads for long-lived streams, watch and agent config (default 512)
  --max-body-bytes N         largest accepted request body, chunked or not (default 1048576)
  --max-json-depth N         deepest nesting of a JSON body (default 64)
  --max-json-elements N      most values and keys in a JSON body (default 100000)
  --header-timeout-ms N      a request line and headers must arrive within this (default 10000)
  --body-timeout-ms N        and the body within this after them (default 30000)
  --idle-timeout-ms N        an idle keep-alive connection is closed after this (default 30000)
  --max-connections N        open client connections (default 8192)
  --max-connections-per-address N  of them from one client address (default 256)
  --max-watch-streams N      open /watch streams (default 256)
  --max-watch-streams-per-token N  of them per token; the global admin is exempt (default 8)
  --auth-failure-burst N     failed authentications an address may make at once (default 20)
  --auth-failure-rate R      and per second after that (default 2); then 429 with Retry-After
 TLS (default: plain HTTP):
  --tls-cert FILE            serve HTTPS with this PEM certificate (chain), on the REST API and
                             the agent API alike; TLS 1.2 or newer, forward-secret AEAD ciphers
  --tls-key FILE             its PEM private key; refused unless only its owner may access it
  --tls-handshake-timeout-ms N  a TLS handshake must complete within this (default 10000)
 Agents:
  --fabric-netns NAME        open the agent-facing listeners below in this network namespace
  --agent-listen HOST:PORT   agent API (registration, per-host config streams) on the fabric
  --bgp-listen ADDR[:PORT]   BGP EVPN route reflector for the agents (default port 179)
  --bgp-asn N                AS number of the route reflector and the agents (default 64512)
  --help                     this text
)";

// One table for flags and config-file keys: --max-body-bytes is max_body_bytes.
using Setter = std::function<void(Options&, const std::string&)>;
const std::vector<std::pair<std::string, Setter>>& option_table() {
  auto size = [](const std::string& v) { return size_t(std::stoull(v)); };
  auto ms = [](const std::string& v) { return milliseconds(std::stoll(v)); };
  static const std::vector<std::pair<std::string, Setter>> t = {
      {"listen", [](Options& o, auto& v) { o.listen = v; }},
      {"db", [](Options& o, auto& v) { o.db = v; }},
      {"admin_token_file", [](Options& o, auto& v) { o.admin_token_file = v; }},
      {"port_file", [](Options& o, auto& v) { o.port_file = v; }},
      {"log_level", [](Options& o, auto& v) { o.log_level = v; }},
      {"threads", [=](Options& o, auto& v) { o.http.workers = size(v); }},
      {"max_stream_threads", [=](Options& o, auto& v) { o.http.max_stream_threads = size(v); }},
      {"max_body_bytes", [=](Options& o, auto& v) { o.rest.max_body = size(v); }},
      {"max_json_depth", [=](Options& o, auto& v) { o.rest.json.max_depth = size(v); }},
      {"max_json_elements", [=](Options& o, auto& v) { o.rest.json.max_elements = size(v); }},
      {"header_timeout_ms", [=](Options& o, auto& v) { o.http.header_timeout = ms(v); }},
      {"body_timeout_ms", [=](Options& o, auto& v) { o.http.body_timeout = ms(v); }},
      {"idle_timeout_ms", [=](Options& o, auto& v) { o.http.idle_timeout = ms(v); }},
      {"tls_cert", [](Options& o, auto& v) { o.tls_cert = v; }},
      {"tls_key", [](Options& o, auto& v) { o.tls_key = v; }},
      {"tls_handshake_timeout_ms", [=](Options& o, auto& v) { o.http.tls_handshake_timeout = ms(v); }},
      {"max_connections", [=](Options& o, auto& v) { o.http.max_connections = size(v); }},
      {"max_connections_per_address", [=](Options& o, auto& v) { o.http.max_connections_per_address = size(v); }},
      {"max_watch_streams", [=](Options& o, auto& v) { o.rest.max_watch_streams = size(v); }},
      {"max_watch_streams_per_token", [=](Options& o, auto& v) { o.rest.max_watch_streams_per_token = size(v); }},
      {"auth_failure_burst", [](Options& o, auto& v) { o.rest.auth_throttle.burst = std::stod(v); }},
      {"auth_failure_rate", [](Options& o, auto& v) { o.rest.auth_throttle.per_second = std::stod(v); }},
      {"autonomous_system", [](Options& o, auto& v) { o.asn = std::stoll(v); }},
      {"asn", [](Options& o, auto& v) { o.asn = std::stoll(v); }},
      {"change_log_keep", [](Options& o, auto& v) { o.change_log_keep = std::stoll(v); }},
      {"fabric_netns", [](Options& o, auto& v) { o.south.netns = v; }},
      {"agent_listen", [](Options& o, auto& v) { o.south.listen = v; }},
      {"bgp_listen", [](Options& o, auto& v) { o.south.bgp_listen = v; }},
      {"bgp_asn", [](Options& o, auto& v) { o.south.asn = static_cast<uint32_t>(std::stoul(v)); }},
  };
  return t;
}

// Applies one option; false if there is no such option.
bool set_option(Options& o, const std::string& key, const std::string& value) {
  for (auto& [k, set] : option_table())
    if (k == key) {
      try {
        set(o, value);
      } catch (const std::logic_error&) {  // std::stoll and friends
        throw std::runtime_error(key + ": invalid value '" + value + "'");
      }
      return true;
    }
  return false;
}

void load_config(const std::string& path, Options& o) {
  YAML::Node y = YAML::LoadFile(path);
  if (!y.IsMap() && !y.IsNull()) throw std::runtime_error(path + ": expected a mapping");
  for (auto it = y.begin(); it != y.end(); ++it) {
    std::string k = it->first.as<std::string>();
    if (!set_option(o, k, it->second.as<std::string>())) throw std::runtime_error(path + ": unknown key '" + k + "'");
  }
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> a(argv + 1, argv + argc);
  // --config first so that flags override the file regardless of their order.
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "--config") load_config(a[i + 1], o);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--help" || a[i] == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    std::string key = a[i].rfind("--", 0) == 0 ? a[i].substr(2) : "";
    std::replace(key.begin(), key.end(), '-', '_');
    if (key.empty() || (key != "config" && !std::any_of(option_table().begin(), option_table().end(),
                                                        [&](auto& e) { return e.first == key; })))
      throw std::runtime_error("unknown option " + a[i] + " (see --help)");
    if (i + 1 >= a.size()) throw std::runtime_error(a[i] + " needs a value");
    std::string value = a[++i];
    if (key != "config") set_option(o, key, value);
  }
  if (o.http.workers < 2) throw std::runtime_error("--threads must be at least 2");
  if (o.tls_cert.empty() != o.tls_key.empty()) throw std::runtime_error("--tls-cert and --tls-key go together");
  return o;
}

void add_http_gauges(vrf::Metrics& m, vrf::ConnectionServer& srv) {
  auto& st = srv.stats();
  m.add_gauge("http_connections", "Open client connections.", [&st] { return double(st.open); });
  m.add_gauge("http_connections_idle", "Connections waiting for a request head (none holds a thread).",
              [&st] { return double(st.idle); });
  m.add_gauge("http_head_timeouts", "Connections closed (408) because their request head did not arrive in time.",
              [&st] { return double(st.head_timeouts); }, vrf::Metrics::kCounter);
  m.add_gauge("http_heads_too_large", "Connections closed (431) because their request head was too large.",
              [&st] { return double(st.heads_too_large); }, vrf::Metrics::kCounter);
  m.add_gauge("http_connections_refused", "Connections refused (503) by the total or per-address limit.",
              [&st] { return double(st.refused); }, vrf::Metrics::kCounter);
  m.add_gauge("http_tls_handshake_timeouts", "TLS connections dropped because the handshake did not complete in time.",
              [&st] { return double(st.tls_handshake_timeouts); }, vrf::Metrics::kCounter);
  m.add_gauge("http_tls_handshake_failures", "TLS handshakes that failed (protocol version, ciphers, garbage).",
              [&st] { return double(st.tls_handshake_failures); }, vrf::Metrics::kCounter);
  m.add_gauge("http_tls_plain_requests", "Plain HTTP requests on the TLS port (answered 400).",
              [&st] { return double(st.tls_plain_http); }, vrf::Metrics::kCounter);
  m.add_gauge("http_threads", "HTTP threads (request slots and streams).",
              [&srv] { return double(srv.pool_stats().threads); });
  m.add_gauge("http_requests_queued", "Requests with a complete head waiting for a free slot.",
              [&srv] { return double(srv.pool_stats().queued); });
}

// The database and its -wal/-shm are created 0600 by the umask; these chmods cover
// files left by an older version.
void restrict_database(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) vrf::restrict_to_owner(db + suffix);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vr-controller: %s\n", e.what());
    return 2;
  }
  // SIGTERM/SIGINT are taken synchronously by one thread; every other thread
  // (those of spdlog and httplib included: they inherit this mask) blocks them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  umask(077);  // every file the controller creates (database, token, port file) is private

  // Log lines go through stdout's buffer (one write per buffer, not per line: an audit
  // line per mutation would otherwise cost a syscall each); flushed every second and at
  // once for warnings and errors.
  auto logger = std::make_shared<spdlog::logger>("vr-controller",
                                                 std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout, false));
  spdlog::set_default_logger(logger);
  spdlog::flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
  spdlog::set_level(spdlog::level::from_str(opt.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l vr-controller %v");

  try {
    auto colon = opt.listen.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("--listen needs HOST:PORT");
    std::string host = opt.listen.substr(0, colon);
    int port = std::stoi(opt.listen.substr(colon + 1));

    if (!opt.tls_cert.empty()) {
      opt.http.tls = std::make_shared<vrf::TlsContext>(opt.tls_cert, opt.tls_key);
      opt.south.tls = opt.http.tls;
      opt.south.tls_handshake_timeout = opt.http.tls_handshake_timeout;
      spdlog::info("TLS certificate={} subject={}", opt.tls_cert, opt.http.tls->certificate_subject());
    }
    vrf::Store store(opt.db);
    restrict_database(opt.db);
    vrf::ConfigService svc(store, {opt.asn, opt.change_log_keep});
    if (!opt.admin_token_file.empty()) vrf::prepare_private_file(opt.admin_token_file);
    if (auto token = svc.bootstrap()) {
      // stdout is also where the log goes: the token is printed there only when it
      // has nowhere else to go.
      if (opt.admin_token_file.empty()) {
        std::printf("admin token (shown once): %s\n", token->c_str());
        std::fflush(stdout);
      } else {
        vrf::write_private_file(opt.admin_token_file, *token);
        spdlog::info("admin token created, written to {} (mode 0600)", opt.admin_token_file);
      }
    }
    vrf::Metrics metrics;
    // No request needs more than its head and a body at the limit in the most wasteful
    // chunked framing; RestApi enforces the body limit itself, this bounds all routes.
    opt.http.max_request_bytes = opt.http.max_header_bytes + 8 * opt.rest.max_body;
    vrf::ConnectionServer srv(opt.http);
    srv.set_payload_max_length(opt.rest.max_body);  // a backstop: RestApi reads bodies itself
    srv.set_tcp_nodelay(true);  // headers and body are separate writes: avoid the 40 ms Nagle stall
    add_http_gauges(metrics, srv);
    vrf::RestApi api(svc, metrics, opt.rest);
    api.install(srv);
    vrf::Southbound south(svc, opt.south);
    south.install(srv);
    south.start();

    // The prebuilt cpp-httplib listens with a backlog of 5: a burst of connecting
    // clients (agents reconnecting after a restart) would see SYNs dropped and 1 s
    // retransmits. Keep the listening socket's fd and raise its backlog after bind.
    int listen_fd = -1;
    srv.set_socket_options([&listen_fd](int fd) {
      httplib::default_socket_options(fd);
      listen_fd = fd;
    });
    if (port == 0) port = srv.bind_to_any_port(host);
    else if (!srv.bind_to_port(host, port)) port = -1;
    if (port <= 0) throw std::runtime_error("cannot listen on " + opt.listen);
    if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
    spdlog::info("listening address={}:{} tls={} db={} revision={} schema_version={}", host, port, opt.http.tls ? "on" : "off", opt.db, svc.revision(),
                 store.schema_version());
    if (!opt.port_file.empty()) vrf::write_private_file(opt.port_file, std::to_string(port));

    std::atomic<bool> signalled{false};
    std::thread sig_thread([&] {
      int sig = 0;
      sigwait(&sigs, &sig);
      signalled = true;
      spdlog::info("signal={} shutting down", sig);
      svc.stop();  // ends watch streams so their worker threads can be joined
      srv.stop();
      south.stop();
    });
    srv.listen_after_bind();
    // If listen ended without a signal (socket error), wake the signal thread ourselves.
    if (!signalled) pthread_kill(sig_thread.native_handle(), SIGTERM);
    sig_thread.join();
    spdlog::info("stopped revision={}", svc.revision());
    spdlog::default_logger()->flush();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    spdlog::default_logger()->flush();
    return 1;
  }
  return 0;
}
