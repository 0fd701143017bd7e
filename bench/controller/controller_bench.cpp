// controller_bench: how fast can vr-controller create ports (virtual-machine-interfaces)
// with their instance IP allocated in the same request, durably (WAL,
// synchronous=NORMAL, one transaction per request, committed before the reply)?
//
// Prints, for 1 and for N concurrent keep-alive HTTP clients: creates/s and the p50/p99/max
// request latency of COUNT creates; and, as the ceiling, the raw SQLite rate of
// single-row transactions with the same durability settings on the same disk.
//
// usage: controller_bench [--count N] [--clients N] [--controller PATH] [--dir DIR]
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The ceiling: one INSERT per transaction, as the controller commits once per request.
double raw_sqlite_rate(const std::string& path, int n) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, body TEXT)", nullptr, nullptr, nullptr);
  sqlite3_stmt *ins, *begin, *commit;
  sqlite3_prepare_v2(db, "INSERT INTO t(uuid, body) VALUES(?, ?)", -1, &ins, nullptr);
  sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr);
  sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr);
  std::string body(400, 'x');  // about the size of a stored port
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::string key = "k" + std::to_string(i);
    sqlite3_step(begin);
    sqlite3_reset(begin);
    sqlite3_bind_text(ins, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, body.c_str(), -1, SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
    sqlite3_step(commit);
    sqlite3_reset(commit);
  }
  double rate = n / seconds_since(t0);
  sqlite3_finalize(ins);
  sqlite3_finalize(begin);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  return rate;
}

struct Controller {
  pid_t pid = -1;
  int port = 0;
  std::string token;
  Controller(const std::string& bin, const std::string& dir) {
    std::string port_file = dir + "/port", tok_file = dir + "/token", db = dir + "/controller.db";
    std::fflush(stdout);  // or the child inherits (and repeats) buffered output
    pid = fork();
    if (pid == 0) {
      freopen((dir + "/controller.log").c_str(), "w", stdout);
      execl(bin.c_str(), bin.c_str(), "--listen", "127.0.0.1:0", "--db", db.c_str(), "--port-file", port_file.c_str(),
            "--admin-token-file", tok_file.c_str(), (char*)nullptr);  // default log level: audit lines included
      _exit(127);
    }
    for (int i = 0; i < 500 && !port; ++i) {
      std::ifstream f(port_file);
      if (!(f >> port)) port = 0;
      if (!port) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ifstream(tok_file) >> token;
    if (!port || token.empty()) throw std::runtime_error("controller did not start (see " + dir + "/controller.log)");
  }
  // Stops the controller; returns its CPU seconds (user, system) over its whole life.
  std::pair<double, double> stop() {
    if (pid < 0) return {0, 0};
    kill(pid, SIGTERM);
    struct rusage ru {};
    wait4(pid, nullptr, 0, &ru);
    pid = -1;
    auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return {secs(ru.ru_utime), secs(ru.ru_stime)};
  }
  ~Controller() { stop(); }
};

httplib::Client client(const Controller& c) {
  httplib::Client cli("127.0.0.1", c.port);
  cli.set_keep_alive(true);
  cli.set_tcp_nodelay(true);
  cli.set_bearer_token_auth(c.token.c_str());
  return cli;
}

void must(const httplib::Result& r, const char* what) {
  if (!r || r->status >= 300)
    throw std::runtime_error(std::string(what) + ": " + (r ? r->body : httplib::to_string(r.error())));
}

struct Result {
  double rate, p50, p99, max;
  size_t distinct;
  double user_us, sys_us;  // controller CPU per create (includes the short setup)
};

Result run(const std::string& bin, const std::string& dir, int count, int clients) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Controller ctl(bin, dir);
  auto admin = client(ctl);
  must(admin.Post("/projects", R"({"project": {"fq_name": ["default-domain", "bench"]}})", "application/json"), "project");
  must(admin.Post("/network-ipams", R"({"network-ipam": {"fq_name": "default-domain:bench:ipam"}})", "application/json"),
       "ipam");
  auto vn = admin.Post("/virtual-networks", R"({"virtual-network": {"fq_name": "default-domain:bench:net",
      "network_ipam_refs": [{"to": "default-domain:bench:ipam", "attr": {"ipam_subnets": [{"subnet": "10.128.0.0/16"}]}}]}})",
                       "application/json");
  must(vn, "network");
  std::string vn_uuid = json::parse(vn->body)["virtual-network"]["uuid"];

  std::vector<std::vector<double>> lat(clients);
  std::vector<std::vector<std::string>> addrs(clients);
  std::vector<std::string> errors(clients);
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < clients; ++w)
    threads.emplace_back([&, w] {
      auto cli = client(ctl);
      for (int i = w; i < count; i += clients) {
        json body = {{"virtual-machine-interface",
                      {{"fq_name", {"default-domain", "bench", "port-" + std::to_string(i)}},
                       {"host_id", "node-" + std::to_string(i % 64)},
                       {"virtual_network_refs", {{{"uuid", vn_uuid}}}}}}};
        auto t = Clock::now();
        auto r = cli.Post("/virtual-machine-interfaces?allocate_ip=v4", body.dump(), "application/json");
        lat[w].push_back(seconds_since(t));
        if (!r || r->status != 201) {
          errors[w] = r ? r->body : httplib::to_string(r.error());
          return;
        }
        addrs[w].push_back(json::parse(r->body)["instance-ips"][0]["instance_ip_address"]);
      }
    });
  for (auto& t : threads) t.join();
  double elapsed = seconds_since(t0);
  for (auto& e : errors)
    if (!e.empty()) throw std::runtime_error("create failed: " + e);
  std::vector<double> all;
  std::set<std::string> distinct;
  for (int w = 0; w < clients; ++w) {
    all.insert(all.end(), lat[w].begin(), lat[w].end());
    distinct.insert(addrs[w].begin(), addrs[w].end());
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, size_t(p * all.size()))] * 1000; };
  auto [user, sys] = ctl.stop();
  return {count / elapsed, pct(0.50), pct(0.99), all.back() * 1000, distinct.size(), user / count * 1e6,
          sys / count * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
  int count = 10000, clients = 4;
  std::string bin = VR_CONTROLLER_PATH, dir = "/tmp/controller_bench." + std::to_string(getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--count") count = std::stoi(argv[i + 1]);
    else if (a == "--clients") clients = std::stoi(argv[i + 1]);
    else if (a == "--controller") bin = argv[i + 1];
    else if (a == "--dir") dir = argv[i + 1];
    else { std::fprintf(stderr, "usage: controller_bench [--count N] [--clients N] [--controller PATH] [--dir DIR]\n"); return 2; }
  }
  try {
    std::filesystem::create_directories(dir);
    double raw = raw_sqlite_rate(dir + "/raw.db", count);
    std::printf("raw SQLite, 1 insert per transaction (WAL, synchronous=NORMAL): %.0f inserts/s\n", raw);
    for (int c : {1, clients}) {
      Result r = run(bin, dir + "/run", count, c);
      std::printf("vr-controller, %d port creates with IP allocation, %d client%s: %.0f creates/s, "
                  "latency p50 %.3f ms, p99 %.3f ms, max %.3f ms, %zu distinct addresses (%.0f%% of raw SQLite); "
                  "controller CPU per create %.0f us user + %.0f us system\n",
                  count, c, c == 1 ? "" : "s", r.rate, r.p50, r.p99, r.max, r.distinct, 100 * r.rate / raw, r.user_us,
                  r.sys_us);
      if (r.distinct != size_t(count)) throw std::runtime_error("addresses were not distinct");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "controller_bench: %s\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
