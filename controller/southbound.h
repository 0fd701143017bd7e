#pragma once
// The controller's southbound side: what agents talk to. Agents register (host name and
// fabric address), then follow a stream of their host's whole configuration as snapshots
// (VRFs with VNI, route target, encapsulation and gateways; interfaces with MAC, addresses,
// DHCP lease and workload namespace); and peer over BGP EVPN with the route reflector
// embedded here, which reflects each route only to agents that import its route target.
//
// Agents live on the fabric, which is often another network than the one operators reach
// the REST API on: with a fabric namespace set, these listeners are opened inside it.
#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "controller/http_tls.h"
#include "controller/policy_feed.h"
#include "controller/service.h"

namespace vrfabric::bgp {
class Speaker;
}

namespace vrf {

struct SouthboundSettings {
  std::string netns;                 // open the listeners in this namespace ("" = ours)
  std::string listen;                // agent API HOST:PORT ("" = serve on the main API only)
  std::string bgp_listen;            // route reflector HOST[:PORT] ("" = no BGP)
  uint32_t asn = 64512;
  std::shared_ptr<const TlsContext> tls;  // the agent API serves HTTPS when set
  std::chrono::milliseconds tls_handshake_timeout{10000};
};

class Southbound {
 public:
  Southbound(ConfigService& svc, SouthboundSettings s);
  ~Southbound();
  void install(httplib::Server& srv);  // the /agents routes
  void start();                        // the fabric-side listeners, if configured
  void stop();
  json snapshot(const std::string& host, const Principal& who);

 private:
  ConfigService& svc_;
  SouthboundSettings cfg_;
  PolicyFeed policy_;
  std::mutex mu_;
  std::map<std::string, std::string> agents_;  // host -> fabric address
  std::unique_ptr<vrfabric::bgp::Speaker> speaker_;
  std::unique_ptr<httplib::Server> fabric_srv_;
  std::thread fabric_thread_;

  json register_agent(const json& body, const Principal& who);
  void watch(const std::string& host, const Principal& who, httplib::Response& res);
  // One turn of a host's stream: waits for a change, sends the snapshot if it differs.
  bool stream_step(const std::string& host, const Principal& who, std::string& last, int64_t& cursor,
                   httplib::DataSink& sink);
};

}  // namespace vrf
