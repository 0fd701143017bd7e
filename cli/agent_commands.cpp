// `vrctl agent ...`: a client of the node agent's local API (newline-delimited JSON on a
// unix socket). Flags become request fields, so every agent operation is reachable.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "commands.h"
#include "table.h"

namespace vrctl {

using json = nlohmann::json;

namespace {

const char* kAgentUsage = R"(usage: vrctl agent [--socket PATH] [-o table|json] COMMAND
  show vrfs | interfaces | routes [--vrf V] | l2 [--vrf V] | tunnels | counters [--all]
  show flows [--vrf V] [--address A] [--action pass|deny|mirror] [--limit N]
                                     flows, their action and the rule that decided
  show policy                        the installed policy: generation, groups, rules, interfaces under it
  show guard                         source guard entries in the kernel (own addresses, allowed pairs)
  vrf add NAME [--vni N]            vrf del NAME
  vni add VNI --vrf V               vni del VNI
  interface add NAME --vrf V --mac M --netns NS [--peer-name IF] [--ip ADDR]...
                [--allowed-pair PREFIX[,MAC]]...   extra source prefixes (MAC: the port's if absent)
  interface del NAME
  port attach UUID --netns NS [--ifname eth0]   the runtime: plug the controller's port UUID into NS
  port detach UUID                  show ports
  endpoint add --vrf V --mac M --remote FABRIC_IP [--encap vxlan|mplsudp|mplsgre] [--label L] [--ip ADDR]...
  endpoint del --vrf V --mac M
  route add PREFIX --vrf V --nexthop discard|receive|interface|tunnel
            [--interface IF] [--remote IP --encap E --label L --mac M]
  route del PREFIX --vrf V
  raw JSON                           send one request as is
The socket defaults to $VRCTL_AGENT_SOCKET, then /run/vrfabric/agent.sock.
)";

// The request field a positional argument fills, per object.
const std::map<std::string, std::string> kPositional = {
    {"vrf", "name"}, {"interface", "name"}, {"port", "uuid"}, {"route", "prefix"}, {"vni", "vni"}};
const std::set<std::string> kNumeric = {"vni", "label", "limit"};
const std::map<std::string, std::string> kShow = {{"vrfs", "vrf.list"},         {"interfaces", "interface.list"},
                                                  {"routes", "route.list"},      {"l2", "l2.list"},
                                                  {"tunnels", "tunnel.list"},    {"counters", "counters"},
                                                  {"flows", "flow.list"},        {"policy", "policy.show"},
                                                  {"ports", "port.list"},         {"guard", "guard.show"}};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json field_value(const std::string& field, const std::string& text) {
  if (!kNumeric.count(field)) return text;
  char* end = nullptr;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end || text[0] == '-') throw UsageError("--" + field + " wants a number, not '" + text + "'");
  return n;
}

// Turns "--peer-name eth1 --ip A --ip B" into {"peer_name": "eth1", "ips": ["A", "B"]}.
void add_flags(json& req, const Args& args, size_t from, const std::string& positional) {
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      if (positional.empty() || req.contains(positional)) throw UsageError("unexpected argument '" + a + "'");
      req[positional] = field_value(positional, a);
      continue;
    }
    if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
    std::string field = a.substr(2);
    for (char& c : field)
      if (c == '-') c = '_';
    if (field == "ip") {
      req["ips"].push_back(args[++i]);
    } else if (field == "allowed_pair") {
      const std::string& v = args[++i];
      auto comma = v.find(',');
      json pair = {{"prefix", v.substr(0, comma)}};
      if (comma != std::string::npos) pair["mac"] = v.substr(comma + 1);
      req["allowed_pairs"].push_back(pair);
    } else {
      req[field] = field_value(field, args[++i]);
    }
  }
}

json build_request(const Args& args, bool& all_counters) {
  if (args.empty()) throw UsageError("missing command");
  json req = json::object();
  if (args[0] == "raw") {
    if (args.size() != 2) throw UsageError("raw takes one JSON argument");
    req = json::parse(args[1], nullptr, false);
    if (req.is_discarded()) throw UsageError("raw: the argument is not valid JSON");
    return req;
  }
  if (args[0] == "show") {
    if (args.size() < 2 || !kShow.count(args[1])) throw UsageError("show what? vrfs, interfaces, routes, l2, tunnels, counters, flows, policy");
    req["op"] = kShow.at(args[1]);
    Args rest(args.begin() + 2, args.end());
    auto it = std::find(rest.begin(), rest.end(), "--all");
    if (it != rest.end()) {
      all_counters = true;
      rest.erase(it);
    }
    add_flags(req, rest, 0, "");
    return req;
  }
  static const std::map<std::string, std::set<std::string>> verbs = {
      {"vrf", {"add", "del"}},   {"vni", {"add", "del"}},   {"interface", {"add", "del"}},
      {"endpoint", {"add", "del"}}, {"route", {"add", "del"}}, {"port", {"attach", "detach"}}};
  auto object = verbs.find(args[0]);
  if (object == verbs.end() || args.size() < 2 || !object->second.count(args[1]))
    throw UsageError("unknown command '" + args[0] + (args.size() > 1 ? " " + args[1] : "") + "'");
  req["op"] = args[0] + "." + args[1];
  auto pos = kPositional.find(args[0]);
  add_flags(req, args, 2, pos == kPositional.end() ? "" : pos->second);
  return req;
}

json call_agent(const std::string& path, const json& req) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot reach the agent at " + path + ": " + std::strerror(errno));
  }
  std::string line = req.dump() + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(fd);
    throw std::runtime_error("agent closed the connection");
  }
  std::string reply;
  char buf[65536];
  ssize_t n;
  while (reply.find('\n') == std::string::npos && (n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, n);
  close(fd);
  json j = json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("agent sent an unreadable reply");
  return j;
}

void print_result(const json& result, const std::string& format, bool all_counters) {
  if (format == "json") {
    std::cout << result.dump(2) << "\n";
    return;
  }
  if (result.is_array()) {
    print_table(std::cout, result);
  } else if (result.is_object()) {
    json rows = json::array();
    for (auto& [k, v] : result.items())
      if (all_counters || !(v.is_number() && v.get<uint64_t>() == 0)) rows.push_back({{"name", k}, {"value", v}});
    print_table(std::cout, rows);
  } else if (!result.is_null()) {
    std::cout << result.dump() << "\n";
  }
}

}  // namespace

int run_agent_command(const Args& in) {
  Args args = in;
  std::string socket = std::getenv("VRCTL_AGENT_SOCKET") ? std::getenv("VRCTL_AGENT_SOCKET") : "/run/vrfabric/agent.sock";
  std::string format = "table";
  for (size_t i = 0; i + 1 < args.size();) {
    if (args[i] == "--socket" || args[i] == "-o") {
      (args[i] == "--socket" ? socket : format) = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else {
      ++i;
    }
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    std::fputs(kAgentUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "vrctl agent: -o wants table or json\n");
    return 2;
  }
  try {
    bool all_counters = false;
    json req = build_request(args, all_counters);
    json reply = call_agent(socket, req);
    if (!reply.value("ok", false)) {
      std::fprintf(stderr, "vrctl agent: %s\n", reply.value("error", std::string("request failed")).c_str());
      return 1;
    }
    print_result(reply["result"], format, all_counters);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "vrctl agent: %s\n%s", e.what(), kAgentUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vrctl agent: %s\n", e.what());
    return 1;
  }
}

}  // namespace vrctl
