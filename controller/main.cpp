// vr-controller: the configuration API (REST on port 8082), its SQLite store and IPAM.
#include <httplib.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "controller/metrics.h"
#include "controller/rest.h"
#include "controller/service.h"
#include "controller/southbound.h"
#include "controller/store.h"

namespace {

struct Options {
  std::string listen = "127.0.0.1:8082";
  std::string db = "vr-controller.db";
  std::string admin_token_file, port_file;
  std::string log_level = "info";
  int threads = 16;
  size_t max_body = 1 << 20;
  int64_t asn = 64512;
  int64_t change_log_keep = 1000000;
  vrf::SouthboundSettings south;
};

const char* kUsage = R"(usage: vr-controller [options]
  --listen HOST:PORT         address of the REST API (default 127.0.0.1:8082; port 0 = any free port)
  --db PATH                  SQLite database file (default vr-controller.db; created if absent)
  --config FILE              YAML file with any of: listen, db, admin_token_file, port_file,
                             log_level, threads, max_body_bytes, autonomous_system,
                             change_log_keep (flags win)
  --admin-token-file PATH    write the admin token created at first start to PATH (mode 0600)
  --port-file PATH           write the port actually listened on to PATH once serving
  --log-level LEVEL          trace|debug|info|warn|error (default info)
  --threads N                HTTP worker threads; each open watch stream holds one (default 16)
  --max-body-bytes N         largest accepted request body (default 1048576)
  --asn N                    AS number of the default global-system-config (first start only)
  --change-log-keep N        revisions of change history kept for /watch resumption (default
                             1000000; a watcher further behind gets a 'reset' event)
  --fabric-netns NAME        open the agent-facing listeners below in this network namespace
  --agent-listen HOST:PORT   agent API (registration, per-host config streams) on the fabric
  --bgp-listen ADDR[:PORT]   BGP EVPN route reflector for the agents (default port 179)
  --bgp-asn N                AS number of the route reflector and the agents (default 64512)
  --help                     this text
)";

void load_config(const std::string& path, Options& o) {
  YAML::Node y = YAML::LoadFile(path);
  if (!y.IsMap() && !y.IsNull()) throw std::runtime_error(path + ": expected a mapping");
  for (auto it = y.begin(); it != y.end(); ++it) {
    std::string k = it->first.as<std::string>();
    const YAML::Node& v = it->second;
    if (k == "listen") o.listen = v.as<std::string>();
    else if (k == "db") o.db = v.as<std::string>();
    else if (k == "admin_token_file") o.admin_token_file = v.as<std::string>();
    else if (k == "port_file") o.port_file = v.as<std::string>();
    else if (k == "log_level") o.log_level = v.as<std::string>();
    else if (k == "threads") o.threads = v.as<int>();
    else if (k == "max_body_bytes") o.max_body = v.as<size_t>();
    else if (k == "autonomous_system") o.asn = v.as<int64_t>();
    else if (k == "change_log_keep") o.change_log_keep = v.as<int64_t>();
    else throw std::runtime_error(path + ": unknown key '" + k + "'");
  }
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> a(argv + 1, argv + argc);
  // --config first so that flags override the file regardless of their order.
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "--config") load_config(a[i + 1], o);
  for (size_t i = 0; i < a.size(); ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= a.size()) throw std::runtime_error(a[i] + " needs a value");
      return a[++i];
    };
    if (a[i] == "--help" || a[i] == "-h") { std::fputs(kUsage, stdout); std::exit(0); }
    else if (a[i] == "--config") next();
    else if (a[i] == "--listen") o.listen = next();
    else if (a[i] == "--db") o.db = next();
    else if (a[i] == "--admin-token-file") o.admin_token_file = next();
    else if (a[i] == "--port-file") o.port_file = next();
    else if (a[i] == "--log-level") o.log_level = next();
    else if (a[i] == "--threads") o.threads = std::stoi(next());
    else if (a[i] == "--max-body-bytes") o.max_body = std::stoul(next());
    else if (a[i] == "--asn") o.asn = std::stoll(next());
    else if (a[i] == "--change-log-keep") o.change_log_keep = std::stoll(next());
    else if (a[i] == "--fabric-netns") o.south.netns = next();
    else if (a[i] == "--agent-listen") o.south.listen = next();
    else if (a[i] == "--bgp-listen") o.south.bgp_listen = next();
    else if (a[i] == "--bgp-asn") o.south.asn = static_cast<uint32_t>(std::stoul(next()));
    else throw std::runtime_error("unknown option " + a[i] + " (see --help)");
  }
  if (o.threads < 2) throw std::runtime_error("--threads must be at least 2");
  return o;
}

void write_private_file(const std::string& path, const std::string& content) {
  umask(077);
  std::ofstream f(path, std::ios::trunc);
  f << content << "\n";
  if (!f) throw std::runtime_error("cannot write " + path);
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

    vrf::Store store(opt.db);
    vrf::ConfigService svc(store, {opt.asn, opt.change_log_keep});
    if (auto token = svc.bootstrap()) {
      std::printf("admin token (shown once): %s\n", token->c_str());
      std::fflush(stdout);
      if (!opt.admin_token_file.empty()) write_private_file(opt.admin_token_file, *token);
    }
    vrf::Metrics metrics;
    httplib::Server srv;
    srv.new_task_queue = [n = opt.threads] { return new httplib::ThreadPool(n); };
    srv.set_payload_max_length(opt.max_body);
    srv.set_keep_alive_max_count(100000);
    srv.set_tcp_nodelay(true);  // headers and body are separate writes: avoid the 40 ms Nagle stall
    srv.set_read_timeout(30);
    vrf::RestApi api(svc, metrics, opt.max_body);
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
    spdlog::info("listening address={}:{} db={} revision={} schema_version={}", host, port, opt.db, svc.revision(),
                 store.schema_version());
    if (!opt.port_file.empty()) write_private_file(opt.port_file, std::to_string(port));

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
