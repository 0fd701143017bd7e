#pragma once
// Answers workloads' DHCPv4 and DHCPv6 requests and IPv6 router solicitations. The forwarder
// passes them from workload interfaces up to the host stack (XDP_PASS); a packet socket per
// IP version, with a filter for what it serves, sees them all, and replies go back out of the
// interface they came from. Workloads with an IPv6 address also get unsolicited router
// advertisements, when their interface is added and then every minute.
#include <atomic>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "datapath.h"
#include "dhcp6_codec.h"
#include "dhcp_codec.h"

namespace vrfabric {

class DhcpServer {
 public:
  explicit DhcpServer(const Mac& router_mac);
  ~DhcpServer();
  void add(int ifindex, const Mac& client, std::optional<dhcp::Lease> v4, std::optional<dhcp6::Lease> v6);
  void remove(int ifindex);
  uint64_t answered() const { return answered_; }

 private:
  struct Binding {
    Mac client;
    std::optional<dhcp::Lease> v4;
    std::optional<dhcp6::Lease> v6;
  };
  Mac router_mac_;
  int sock_ = -1, sock6_ = -1, stop_fd_ = -1;
  std::mutex mu_;
  std::map<int, Binding> bindings_;
  std::atomic<uint64_t> answered_{0};
  std::thread thread_;
  void run();
  void handle(int ifindex, const uint8_t* frame, size_t len);
  void handle6(int ifindex, const uint8_t* frame, size_t len);
  void send(int sock, int ifindex, const std::vector<uint8_t>& frame);
  void advertise(int ifindex);  // unsolicited router advertisement, to all nodes
};

// The Ethernet/IPv4/UDP frame that carries a DHCP reply to a client (pure, for tests).
std::vector<uint8_t> dhcp_reply_frame(const Mac& server_mac, const dhcp::Message& reply);
// The Ethernet/IPv6/UDP frame carrying a DHCPv6 reply from the gateway's link-local address.
std::vector<uint8_t> dhcp6_reply_frame(const Mac& server_mac, const Mac& client_mac, const uint8_t* client_ip,
                                       const std::vector<uint8_t>& payload);

}  // namespace vrfabric
