#pragma once
// Kernel links and neighbours through libnl-3: the workload veths the agent owns and the
// facts it reads about the fabric interface.
#include <cstdint>
#include <optional>
#include <string>

#include "datapath.h"

namespace vrfabric::links {

struct LinkInfo {
  int ifindex = 0;
  Mac mac{};
  int mtu = 0;
  uint32_t ipv4 = 0;  // first IPv4 address, network order; 0 if none
};

// Facts about a link in the agent's own namespace; throws if there is no such link.
LinkInfo get(const std::string& name);

struct VethSpec {
  std::string host_name;  // stays in the agent's namespace
  std::string netns;      // the workload's namespace, by name (/run/netns/NAME)
  std::string peer_name;  // the workload's interface name inside it
  Mac peer_mac{};
  int mtu = 1500;
  int peer_xdp_fd = -1;   // XDP program for the workload end (lets redirects reach it)
};

// Creates the pair, moves the peer into the namespace, sets MAC and MTU, brings both up and
// attaches the peer program there. Returns the host end's ifindex. Cleans up on failure.
// A pair left by an agent that was killed is adopted as it is, so the workload keeps its
// addresses across an agent restart.
int create_workload_veth(const VethSpec& spec);
void delete_link(const std::string& name);  // no error if absent

// The underlay MAC of an on-link IPv4 neighbour, resolving it through the kernel if needed.
std::optional<Mac> resolve_neighbor(int ifindex, uint32_t ipv4, int timeout_ms);

}  // namespace vrfabric::links
